// Screenshots of the dashboard for README (docs/dashboard-desktop.png, docs/dashboard-phone.png): a 3-node cluster
// on loopback with some traffic (tasks that complete, fail for good, get cancelled), one leader change, and a dead
// task's detail open, taken with Debian's Chromium at a desktop and a phone width.
//   npx tsx scripts/dashboard-screenshots.ts        (builds first; needs /usr/bin/chromium)
import { execFileSync } from "node:child_process";
import path from "node:path";
import { Cluster, REPO_ROOT, sleep, waitFor } from "../test/integration/cluster-harness.js";
import { chromiumMissing, launchChromium } from "../test/integration/browser-harness.js";

const SHOTS = [
  { file: "docs/dashboard-desktop.png", viewport: { width: 1280, height: 900 } },
  { file: "docs/dashboard-phone.png", viewport: { width: 390, height: 844 } },
] as const;

/** Traffic for the sparklines: a few tasks a second for `seconds`, every 7th failing for good, every 11th cancelled. */
async function traffic(c: Cluster, seconds: number, prefix: string): Promise<void> {
  for (let i = 0; i < seconds * 4; i++) {
    const id = `${prefix}-${i}`;
    const fail = i % 7 === 3;
    const node = c.runningIds()[i % c.runningIds().length]!;
    await c.submit(node, { id, payload: fail ? { fail: true } : { sleepMs: 100 + (i % 5) * 150 }, maxAttempts: fail ? 1 : 3 }).catch(() => undefined);
    if (i % 11 === 5) await c.request(node, "POST", `/v1/tasks/${id}/cancel`, { body: {} }).catch(() => undefined);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  execFileSync(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "inherit" });
  const c = await Cluster.start({ nodes: 3, capacity: 4 });
  try {
    const first = await c.waitForLeader();
    await traffic(c, 6, "batch");
    await c.kill(first);
    await c.restart(first); // a leader change for the timeline; the old leader comes back as a follower
    await c.waitForLeader();
    await traffic(c, 8, "job");
    const survivor = c.ids.find((id) => id !== first)!;
    const dead = await waitFor("a dead task", 20_000, async () => (await c.listAll(c.runningIds()[0]!, { state: "dead" }))[0]);
    for (const shot of SHOTS) {
      const browser = await launchChromium(shot.viewport);
      try {
        const pageView = await browser.context.newPage();
        await pageView.goto(`${c.url(survivor)}/`); // a node that saw both leaders: the timeline has them
        await pageView.waitForSelector("body[data-conn=live]", { timeout: 20_000 });
        await pageView.fill("#token-input", c.token);
        await pageView.click("#token-form button[type=submit]");
        await pageView.fill("#search-id", dead.id);
        await pageView.click("#search-form button");
        await pageView.waitForSelector("#detail-fields[data-state=dead]", { timeout: 10_000 });
        await sleep(2_500); // two more frames: sparklines and member probes settled
        await pageView.screenshot({ path: path.join(REPO_ROOT, shot.file), fullPage: true });
        console.log(`wrote ${shot.file}`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await c.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
