// Client script, part 2 of 3: the token (entered once, kept in this tab's sessionStorage), search by id, one
// task's detail, submitting a task, and the cancel and retry buttons. Calls go to the node the stream is connected
// to (a follower forwards writes to the leader), so they keep working after the page's own node died.
export const CLIENT_ACTIONS = String.raw`
const TOKEN_KEY = "raftsched.token";
const token = () => { try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; } };
const apiBase = () => page.base || location.origin;

function authHeaders(extra) {
  const h = Object.assign({}, extra || {});
  const t = token();
  if (t) h.authorization = "Bearer " + t;
  return h;
}

function showTokenState(msg, isError) {
  const el = $("token-msg");
  el.textContent = msg || (token() ? "token set for this tab" : "no token: submit, cancel and retry need one");
  el.className = isError ? "error" : "muted";
}

/** An API call's answer: { ok, status, body } with body parsed when it is JSON; network errors throw. */
async function api(method, path, body) {
  const opts = { method, headers: authHeaders(body === undefined ? {} : { "content-type": "application/json" }), cache: "no-store" };
  if (body !== undefined) opts.body = JSON.stringify(body);
  const res = await fetch(apiBase() + path, opts);
  const text = await res.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { /* not JSON: keep the text */ }
  return { ok: res.ok, status: res.status, body: parsed };
}

const errorText = (r) => "HTTP " + r.status + (r.body && r.body.error ? " " + r.body.error.code + ": " + r.body.error.message : "");
const pretty = (v) => { const s = JSON.stringify(v, null, 2); return s.length > 4000 ? s.slice(0, 4000) + "\n… (" + s.length + " characters)" : s; };

function renderDetail(t) {
  $("detail-id").textContent = t.id;
  const rows = [["state", "<span class='state state-" + esc(t.state) + "'>" + esc(t.state) + "</span>"],
    ["worker", esc(t.worker == null ? "–" : t.worker)], ["attempts", esc(t.attempt) + " of at most " + esc(t.maxAttempts)],
    ["priority", esc(t.priority)], ["log index", "created " + esc(t.createdIndex) + " · updated " + esc(t.updatedIndex)]];
  let html = "<dl id='detail-fields' data-state='" + esc(t.state) + "'>" + rows.map(([k, v]) => "<dt>" + k + "</dt><dd>" + v + "</dd>").join("") + "</dl>";
  if (t.result !== undefined) html += "<div>result</div><pre id='detail-result'>" + esc(pretty(t.result)) + "</pre>";
  const err = t.lastError !== undefined ? t.lastError : t.error;
  if (err !== undefined) html += "<div>error</div><pre id='detail-error'>" + esc(pretty(err)) + "</pre>";
  html += "<div>payload</div><pre>" + esc(pretty(t.payload)) + "</pre>";
  $("detail").innerHTML = html;
  $("detail-actions").hidden = false;
}

async function refreshDetail() {
  const id = page.selected;
  if (!id) return;
  try {
    const r = await api("GET", "/v1/tasks/" + encodeURIComponent(id) + "?stale=true");
    if (id !== page.selected) return;
    if (r.ok) renderDetail(r.body);
    else { $("detail-id").textContent = id; $("detail").innerHTML = "<p class='down'>" + esc(errorText(r)) + "</p>"; $("detail-actions").hidden = true; }
  } catch (e) {
    $("detail").innerHTML = "<p class='down'>" + esc(apiBase() + " unreachable: " + e.message) + "</p>";
  }
}

function openTask(id) {
  page.selected = id;
  $("action-msg").textContent = "";
  refreshDetail();
}

/** cancel or retry the open task; retry (POST /v1/tasks/:id/retry) may not exist on an older node: its 404/405 is shown as is. */
async function act(verb) {
  const id = page.selected, msg = $("action-msg");
  if (!id) return;
  if (!token()) { msg.textContent = "enter the cluster token first"; msg.className = "error"; $("token-input").focus(); return; }
  msg.textContent = verb + "…"; msg.className = "muted";
  try {
    const r = await api("POST", "/v1/tasks/" + encodeURIComponent(id) + "/" + verb, {});
    if (r.ok) { msg.textContent = verb + ": done, state " + r.body.state; msg.className = "up"; renderDetail(r.body); return; }
    const hint = verb === "retry" && (r.status === 404 || r.status === 405) ? " (this node has no retry call)" : r.status === 401 ? " (check the token)" : "";
    msg.textContent = verb + " refused: " + errorText(r) + hint; msg.className = "error";
  } catch (e) {
    msg.textContent = verb + " failed: " + e.message; msg.className = "error";
  }
}

/** Submits { id?, payload } (POST /v1/tasks) and opens the task it answers with. */
async function submitTask() {
  const msg = $("submit-msg"), id = $("submit-id").value.trim();
  let payload;
  try { payload = JSON.parse($("submit-payload").value); } catch (e) { msg.textContent = "payload is not JSON: " + e.message; msg.className = "error"; return; }
  if (!token()) { msg.textContent = "enter the cluster token first"; msg.className = "error"; $("token-input").focus(); return; }
  msg.textContent = "submitting…"; msg.className = "muted";
  try {
    const r = await api("POST", "/v1/tasks", id ? { id, payload } : { payload });
    if (!r.ok) { msg.textContent = "submit refused: " + errorText(r); msg.className = "error"; return; }
    msg.textContent = (r.status === 201 ? "submitted " : "already there: ") + r.body.id; msg.className = "up";
    $("submit-id").value = "";
    page.selected = r.body.id;
    $("action-msg").textContent = "";
    renderDetail(r.body);
  } catch (e) {
    msg.textContent = "submit failed: " + e.message; msg.className = "error";
  }
}

function wireActions() {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("token-input").value.trim();
    if (!v) { showTokenState("empty token not saved", true); return; }
    try { sessionStorage.setItem(TOKEN_KEY, v); } catch (err) { showTokenState("cannot keep the token: " + err.message, true); return; }
    $("token-input").value = "";
    showTokenState();
  });
  $("token-forget").addEventListener("click", () => { try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ } showTokenState(); });
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); const id = $("search-id").value.trim(); if (id) openTask(id); });
  $("recent").addEventListener("click", (e) => { const b = e.target.closest("[data-open]"); if (b) openTask(b.dataset.open); });
  $("submit-form").addEventListener("submit", (e) => { e.preventDefault(); submitTask(); });
  $("cancel-btn").addEventListener("click", () => act("cancel"));
  $("retry-btn").addEventListener("click", () => act("retry"));
  showTokenState();
}
`;
