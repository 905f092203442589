// Client script, part 1 of 3 (page.ts joins them into one <script>): shared page state and the rendering of a
// stream frame — members, leader timeline, task counts, sparklines (inline SVG), workers, recent tasks.
// Plain browser JavaScript in a string: no build step and no external assets. No backticks or dollar-brace in it.
export const CLIENT_VIEW = String.raw`
"use strict";
const page = {
  bases: [location.origin], base: null, nodeId: null, state: null,
  tasks: new Map(), timeline: new Map(), selected: null, lastFrameMs: 0,
};
const RECENT_ROWS = 30;
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v == null ? "" : v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const cell = (v, cls) => "<td" + (cls ? " class='" + cls + "'" : "") + ">" + esc(v) + "</td>";
const num = (v, wide) => cell(v == null ? "–" : v, wide ? "num wide" : "num");
const fill = (id, rows) => { $(id).querySelector("tbody").innerHTML = rows.join(""); };

function liveness(m) {
  if (!m.reachable) return ["down", "down"];
  if (m.alive === false) return ["silent to leader", "lagging"];
  return ["up", "up"];
}

function renderMembers(s) {
  fill("members", s.members.map((m) => {
    const lead = m.id === s.leaderId;
    const [live, cls] = liveness(m);
    const lagCls = m.commitLag > 0 || m.applyLag > 0 ? "num lagging" : "num";
    return "<tr data-member='" + esc(m.id) + "' data-role='" + esc(m.role || "") + "'>" +
      cell(m.id + (lead ? " ★" : ""), lead ? "leader" : "") + cell(m.url, "wide") +
      cell((m.role || "?") + (m.member === "learner" ? " (learner)" : "")) + num(m.term) + num(m.commitIndex, true) + num(m.appliedIndex, true) +
      "<td class='" + lagCls + "'>" + esc(m.commitLag == null ? "–" : m.commitLag + " / " + m.applyLag) + "</td>" + cell(live, cls) + "</tr>";
  }));
}

function renderTimeline(s) {
  for (const c of s.timeline) {
    const key = c.term + ":" + c.leaderId;
    if (!page.timeline.has(key)) page.timeline.set(key, c);
  }
  const list = [...page.timeline.values()].sort((a, b) => b.term - a.term || b.atMs - a.atMs).slice(0, 30);
  page.timeline = new Map(list.map((c) => [c.term + ":" + c.leaderId, c]));
  $("timeline").innerHTML = list.map((c) =>
    "<li><b>" + esc(c.leaderId) + "</b> <span class='muted'>term " + esc(c.term) + " · " + esc(new Date(c.atMs).toLocaleTimeString()) + "</span></li>").join("");
}

function renderCounts(s) {
  const order = ["pending", "assigned", "completed", "dead", "cancelled", "total"];
  $("counts").innerHTML = order.filter((k) => k in s.counts).map((k) =>
    "<span class='chip' data-count='" + k + "'>" + k + " <b>" + esc(s.counts[k]) + "</b></span>").join("");
}

/** An inline SVG sparkline; null values break the line. */
function sparkline(values) {
  const w = 120, h = 30, present = values.filter((v) => v != null);
  const max = Math.max(1, ...present);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const runs = [];
  let run = [];
  values.forEach((v, i) => {
    if (v == null) { if (run.length) runs.push(run); run = []; return; }
    run.push((i * step).toFixed(1) + "," + (h - 1 - (v / max) * (h - 2)).toFixed(1));
  });
  if (run.length) runs.push(run);
  const lines = runs.map((r) => "<polyline points='" + (r.length === 1 ? r[0] + " " + r[0] : r.join(" ")) + "'/>").join("");
  return "<svg viewBox='0 0 " + w + " " + h + "' preserveAspectRatio='none' role='img'>" + lines + "</svg>";
}

function renderSparks(s) {
  const sr = s.series, last = (a) => { for (let i = a.length - 2; i >= 0; i--) if (a[i] != null) return a[i]; return null; };
  const lat = sr.latencyP50Ms;
  const cards = [
    ["submitted", "submitted / s", sr.submitted, last(sr.submitted)],
    ["finished", "finished / s", sr.finished, last(sr.finished)],
    ["latency", "submit → finish p50 (ms)", lat, last(lat)],
  ];
  const total = (values) => values.reduce((a, v) => a + (v || 0), 0);
  $("sparks").innerHTML = cards.map(([name, label, values, now]) =>
    "<div class='spark' data-series='" + name + "' data-total='" + total(values) + "'><div class='label'>" + esc(label) + ": <b>" + esc(now == null ? "–" : now) + "</b> <span class='muted'>(last 60 s)</span></div>" + sparkline(values) + "</div>").join("");
}

function renderWorkers(s) {
  const list = Array.isArray(s.workers) ? s.workers : [];
  fill("workers", list.map((w) => {
    const pct = w.capacity > 0 ? Math.min(100, Math.round((100 * w.active) / w.capacity)) : 0;
    return "<tr data-worker='" + esc(w.id) + "'>" + cell(w.id) + cell(w.kind || "member", "wide") + cell(w.alive ? "yes" : "no", w.alive ? "up" : "down") +
      "<td><span class='bar'><i style='width:" + pct + "%'></i></span>" + esc(w.active) + " / " + esc(w.capacity) + "</td>" + num(w.lingering, true) + "</tr>";
  }));
}

function renderRecent() {
  const rows = [...page.tasks.values()].sort((a, b) => b.updatedIndex - a.updatedIndex).slice(0, RECENT_ROWS);
  page.tasks = new Map(rows.map((t) => [t.id, t]));
  fill("recent", rows.map((t) =>
    "<tr data-task='" + esc(t.id) + "'><td><button type='button' class='link' data-open='" + esc(t.id) + "'>" + esc(t.id) + "</button></td>" +
    "<td><span class='state state-" + esc(t.state) + "'>" + esc(t.state) + "</span></td>" + cell(t.worker == null ? "–" : t.worker) +
    num(t.attempt + " / " + t.maxAttempts) + "<td class='num wide'>" + esc(t.priority) + "</td><td class='num wide'>" + esc(t.updatedIndex) + "</td></tr>"));
}

function onState(s) {
  page.state = s;
  page.nodeId = s.node;
  for (const m of s.members) if (m.url && !page.bases.includes(m.url.replace(/\/+$/, ""))) page.bases.push(m.url.replace(/\/+$/, ""));
  const leader = $("leader");
  leader.textContent = s.leaderId || "none";
  leader.dataset.leader = s.leaderId || "";
  $("term").textContent = s.term;
  renderMembers(s); renderTimeline(s); renderCounts(s); renderSparks(s); renderWorkers(s);
}

function onTasks(v) {
  if (v.reset) page.tasks = new Map();
  for (const t of v.tasks) page.tasks.set(t.id, t);
  renderRecent();
  if (page.selected && v.tasks.some((t) => t.id === page.selected)) refreshDetail();
}
`;
