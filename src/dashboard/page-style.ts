// The dashboard's stylesheet: no external fonts or assets (nodes often run where the internet is not reachable).
// Two columns on a wide screen, one on a phone; wide tables scroll sideways inside their card, and the columns a
// phone can do without (class "wide") are hidden below 640 px.
export const DASHBOARD_CSS = String.raw`
:root{--ok:#0a7d45;--bad:#c62828;--warn:#b26a00;--muted:#6b7280;--line:#e5e7eb;--card:#fff;--bg:#f4f5f7;--accent:#2457c5}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center;padding:.7em 1em;background:#1f2937;color:#f9fafb}
header h1{font-size:1.1em;margin:0}
header .muted{color:#cbd5e1}
#conn-dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;background:var(--warn);margin-right:.35em}
#conn-dot.live{background:#22c55e} #conn-dot.lost{background:#ef4444}
main{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1em;padding:1em;max-width:1400px;margin:0 auto}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8em 1em;min-width:0}
section.full{grid-column:1/-1}
h2{font-size:1em;margin:0 0 .6em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid var(--line);padding:.3em .5em;text-align:left;white-space:nowrap}
th{font-weight:600;color:var(--muted);font-size:.9em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.leader{font-weight:700;color:var(--ok)}
.up{color:var(--ok)} .down{color:var(--bad)} .unknown{color:var(--muted)} .lagging{color:var(--warn)}
.muted{color:var(--muted)}
.chips{display:flex;flex-wrap:wrap;gap:.4em}
.chip{border:1px solid var(--line);border-radius:999px;padding:.15em .7em;background:#fafafa}
.chip b{font-variant-numeric:tabular-nums}
.state{border-radius:4px;padding:0 .35em;font-size:.9em}
.state-pending{background:#eef2ff} .state-assigned{background:#fff7e6} .state-completed{background:#e8f5e9}
.state-dead{background:#fdecea} .state-cancelled{background:#f1f1f1}
.sparks{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:.6em;margin-top:.7em}
.spark{border:1px solid var(--line);border-radius:6px;padding:.3em .5em}
.spark svg{display:block;width:100%;height:36px}
.spark polyline{fill:none;stroke:var(--accent);stroke-width:1.5}
.spark .label{font-size:.85em;color:var(--muted)}
.bar{display:inline-block;width:5em;height:.6em;background:#e5e7eb;border-radius:3px;vertical-align:middle;margin-right:.4em;overflow:hidden}
.bar i{display:block;height:100%;background:var(--accent)}
ol#timeline{margin:0;padding-left:1.2em;max-height:14em;overflow-y:auto}
form{display:flex;flex-wrap:wrap;gap:.4em;margin-bottom:.6em}
input{font:inherit;padding:.3em .5em;border:1px solid #cbd5e1;border-radius:4px;min-width:0;flex:1 1 10em}
button{font:inherit;padding:.3em .8em;border:1px solid #94a3b8;border-radius:4px;background:#f8fafc;cursor:pointer}
button.danger{border-color:var(--bad);color:var(--bad)}
button.link{border:0;background:none;color:var(--accent);padding:0;text-decoration:underline}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:.5em;overflow:auto;max-height:12em;margin:.3em 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em .8em;margin:0 0 .6em}
dt{color:var(--muted)} dd{margin:0;min-width:0;overflow-wrap:anywhere}
#action-msg.error,#token-msg.error{color:var(--bad)}
@media (max-width:900px){main{grid-template-columns:minmax(0,1fr);padding:.5em;gap:.6em}}
@media (max-width:640px){.wide{display:none} body{font-size:15px} button{padding:.45em .9em}}
`;
