// Client script, part 3 of 3: the live connection. Reads GET /v1/dashboard/events with fetch (so a token can go
// with it, and a silent node can be given up on) and parses the server-sent events itself. When the node goes
// away — connection refused, stream ended, or no frame for FRAME_SILENCE_MS (a paused process) — it moves on to
// the next member url from the last member list, so the page outlives the node it was loaded from.
export const CLIENT_STREAM = String.raw`
const FRAME_SILENCE_MS = 6000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function setConn(text, cls) {
  $("conn").textContent = text;
  $("conn-dot").className = cls;
  document.body.dataset.conn = cls;
}

function onBlock(block) {
  let event = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trimStart();
  }
  if (!data) return;
  page.lastFrameMs = Date.now();
  const value = JSON.parse(data);
  if (event === "state") onState(value);
  else if (event === "tasks") onTasks(value);
}

/** Streams from one node until it fails; always ends by throwing. */
async function stream(base, onConnected) {
  const ctrl = new AbortController();
  page.lastFrameMs = Date.now();
  const watchdog = setInterval(() => { if (Date.now() - page.lastFrameMs > FRAME_SILENCE_MS) ctrl.abort(new Error("no frame for " + FRAME_SILENCE_MS / 1000 + " s")); }, 500);
  try {
    const res = await fetch(base + "/v1/dashboard/events", { headers: authHeaders({ accept: "text/event-stream" }), signal: ctrl.signal, cache: "no-store" });
    if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
    page.base = base;
    onConnected();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "", first = true;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      buf += value.replace(/\r\n/g, "\n");
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        onBlock(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
      if (first && page.nodeId) { first = false; setConn("live from " + page.nodeId + " (" + base + ")", "live"); }
    }
  } finally {
    clearInterval(watchdog);
    ctrl.abort();
  }
}

/** The url to try after the one that failed: the next one in the member list, members that answered the last probe first. */
function nextBase(failed) {
  const s = page.state;
  const reachable = new Set(s ? s.members.filter((m) => m.reachable && m.url).map((m) => m.url.replace(/\/+$/, "")) : []);
  const start = page.bases.indexOf(failed);
  const ring = page.bases.slice(start + 1).concat(page.bases.slice(0, start + 1));
  return ring.find((b) => b !== failed && reachable.has(b)) || ring[0];
}

async function run() {
  let base = location.origin, missed = 0;
  for (;;) {
    let reached = false;
    try {
      await stream(base, () => { reached = true; });
    } catch (e) {
      const why = e && e.message ? e.message : String(e);
      setConn("lost " + base + " (" + why + "), trying another member…", "lost");
    }
    // A node that streamed and then died: move on at once. Every member failing in a row: back off a little.
    missed = reached ? 1 : missed + 1;
    base = nextBase(base);
    await sleep(missed >= page.bases.length ? 1500 : 200);
  }
}

wireActions();
run();
`;
