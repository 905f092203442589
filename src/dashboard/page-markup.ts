// The dashboard's body: empty cards the client script (client-*.ts) fills from the node's event stream. Ids are
// what the script and the browser test (test/integration/dashboard-browser.test.ts) address.
export const DASHBOARD_BODY = String.raw`
<header>
  <h1>raftsched</h1>
  <span><span id="conn-dot"></span><span id="conn">connecting…</span></span>
  <span class="muted">leader <b id="leader" data-leader="">?</b> · term <b id="term">?</b></span>
</header>
<main>
  <section id="members-card" class="full"><h2>Members</h2><div class="scroll"><table id="members"><thead><tr>
    <th>member</th><th class="wide">url</th><th>role</th><th class="num">term</th><th class="num wide">commit</th>
    <th class="num wide">applied</th><th class="num" title="entries behind: commit lag / apply lag">lag c / a</th><th>liveness</th>
  </tr></thead><tbody></tbody></table></div></section>
  <section id="tasks-card"><h2>Tasks</h2><div id="counts" class="chips"></div><div id="sparks" class="sparks"></div></section>
  <section id="timeline-card"><h2>Leader changes</h2><ol id="timeline" reversed></ol></section>
  <section id="workers-card"><h2>Workers</h2><div class="scroll"><table id="workers"><thead><tr>
    <th>worker</th><th class="wide">kind</th><th>alive</th><th>load</th><th class="num wide">lingering</th>
  </tr></thead><tbody></tbody></table></div></section>
  <section id="token-card"><h2>Token and submit</h2>
    <form id="token-form" autocomplete="off"><input id="token-input" type="password" autocomplete="off" placeholder="cluster token (kept for this tab only)">
    <button type="submit">save</button><button type="button" id="token-forget">forget</button></form>
    <div id="token-msg" class="muted">submit, cancel and retry need the cluster token; it stays in this tab (sessionStorage)</div>
    <form id="submit-form" autocomplete="off"><input id="submit-id" placeholder="task id (optional)" autocapitalize="off" spellcheck="false">
    <input id="submit-payload" value='{"sleepMs": 1000}' aria-label="payload (JSON)" spellcheck="false"><button type="submit">submit</button></form>
    <div id="submit-msg" class="muted"></div></section>
  <section id="recent-card"><h2>Recent tasks</h2>
    <form id="search-form"><input id="search-id" placeholder="task id" autocapitalize="off" spellcheck="false"><button type="submit">open</button></form>
    <div class="scroll"><table id="recent"><thead><tr>
      <th>task</th><th>state</th><th>worker</th><th class="num">attempt</th><th class="num wide">priority</th><th class="num wide">updated</th>
    </tr></thead><tbody></tbody></table></div></section>
  <section id="detail-card"><h2>Task <span id="detail-id" class="muted">(none open)</span></h2>
    <div id="detail"></div>
    <div id="detail-actions" hidden><button type="button" id="cancel-btn" class="danger">cancel</button> <button type="button" id="retry-btn">retry</button></div>
    <div id="action-msg" class="muted"></div></section>
</main>
`;
