// The live dashboard at GET /: one static page that polls this node's JSON API. No build step, no external assets
// (nodes often run where the internet is not reachable).

export function renderDashboard(nodeId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>raftsched — ${escapeHtml(nodeId)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}
h1{font-size:1.3em} h2{font-size:1.05em;margin-top:1.5em}
table{border-collapse:collapse;min-width:40em;background:#fff} td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}
th{background:#f0f0f0} .leader{font-weight:bold;color:#0a6} .dead{color:#c00} .muted{color:#888}
code{background:#eee;padding:0 .3em}
</style></head><body>
<h1>raftsched · node <code>${escapeHtml(nodeId)}</code></h1>
<div id="status" class="muted">loading…</div>
<h2>Cluster</h2><table id="members"><thead><tr><th>member</th><th>url</th><th>role</th><th>match index</th><th>alive</th></tr></thead><tbody></tbody></table>
<h2>Workers</h2><table id="workers"><thead><tr><th>worker</th><th>alive</th><th>active / capacity</th><th>last seen (ms ago)</th></tr></thead><tbody></tbody></table>
<h2>Recent tasks</h2><table id="tasks"><thead><tr><th>id</th><th>state</th><th>worker</th><th>attempt</th><th>priority</th></tr></thead><tbody></tbody></table>
<script>
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const rows = (id, list) => { document.querySelector("#" + id + " tbody").innerHTML = list.join(""); };
async function get(path) { const r = await fetch(path); if (!r.ok) throw new Error(path + " " + r.status); return r.json(); }
async function refresh() {
  try {
    const s = await get("/v1/status");
    document.getElementById("status").innerHTML = "role <b class='" + (s.role === "leader" ? "leader" : "") + "'>" + esc(s.role) +
      "</b> · term " + s.term + " · leader " + esc(s.leaderId ?? "none") + " · commit " + s.commitIndex + " · applied " + s.appliedIndex;
    const c = await get("/v1/cluster");
    rows("members", c.members.map((m) => "<tr><td class='" + (m.id === c.leaderId ? "leader" : "") + "'>" + esc(m.id) + (m.id === c.leaderId ? " ★" : "") +
      "</td><td>" + esc(m.url) + "</td><td>" + esc(m.role) + "</td><td>" + esc(m.matchIndex) + "</td><td class='" + (m.alive === false ? "dead" : "") + "'>" + esc(m.alive) + "</td></tr>"));
    const w = await get("/v1/workers");
    rows("workers", w.map((x) => "<tr><td>" + esc(x.id) + "</td><td class='" + (x.alive ? "" : "dead") + "'>" + esc(x.alive) + "</td><td>" + x.active + " / " + x.capacity + "</td><td>" + esc(x.lastSeenMs) + "</td></tr>"));
    const t = await get("/v1/tasks?stale=true&order=updated&limit=20");
    rows("tasks", t.tasks.map((x) => "<tr><td>" + esc(x.id) + "</td><td>" + esc(x.state) + "</td><td>" + esc(x.worker) + "</td><td>" + x.attempt + "</td><td>" + x.priority + "</td></tr>"));
  } catch (e) {
    document.getElementById("status").textContent = "unreachable: " + e.message;
  }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
