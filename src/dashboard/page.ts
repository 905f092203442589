// The live dashboard at GET /: one static page that listens to the node's own event stream
// (GET /v1/dashboard/events, src/dashboard/feed.ts) and moves to another member when that node dies. No build step
// and no external assets (nodes often run where the internet is not reachable). The parts: page-style.ts (CSS),
// page-markup.ts (the cards), client-view.ts, client-actions.ts and client-stream.ts (the script).
import { CLIENT_ACTIONS } from "./client-actions.js";
import { CLIENT_STREAM } from "./client-stream.js";
import { CLIENT_VIEW } from "./client-view.js";
import { DASHBOARD_BODY } from "./page-markup.js";
import { DASHBOARD_CSS } from "./page-style.js";

export function renderDashboard(nodeId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>raftsched — ${escapeHtml(nodeId)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<meta name="raftsched-node" content="${escapeHtml(nodeId)}">
<style>${DASHBOARD_CSS}</style></head><body>
${DASHBOARD_BODY}
<script>
${CLIENT_VIEW}
${CLIENT_ACTIONS}
${CLIENT_STREAM}
</script></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
