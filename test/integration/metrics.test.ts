// /metrics of a real 3-node cluster after some work, parsed by a real parser: every family keeps the Prometheus
// conventions (test/metric-conventions.ts), and the histograms and counters issue 15 names are there and fed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, waitFor } from "./cluster-harness.js";
import { checkMetricConventions, family, histogramCount, type ConventionReport } from "../metric-conventions.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 3 });
});
afterAll(async () => {
  await cluster?.stopAll();
});

async function scrape(id: string): Promise<ConventionReport> {
  const r = await cluster.request(id, "GET", "/metrics", { token: null, timeoutMs: 10_000 });
  expect(r.status).toBe(200);
  return checkMetricConventions(String(r.body));
}

const sumOf = (report: ConventionReport, name: string) => family(report, name).metrics.reduce((s, m) => s + Number(m.value ?? 0), 0);

describe("/metrics", () => {
  it("keeps the conventions and reports the latencies and counters of the work done", async () => {
    const leader = await cluster.waitForLeader();
    const ids = Array.from({ length: 12 }, (_, i) => `metrics-${i}`);
    for (const id of ids) {
      const r = await cluster.submit(leader, { id, payload: { sleepMs: 20 } }, { timeoutMs: 10_000 });
      expect([200, 201]).toContain(r.status);
    }
    await waitFor("every task completed", 60_000, async () => {
      const done = await cluster.listAll(leader, { state: "completed" });
      return done.length === ids.length;
    });

    const reports = new Map<string, ConventionReport>();
    for (const id of cluster.runningIds()) reports.set(id, await scrape(id));
    for (const [id, report] of reports) expect(report.problems, `node ${id}`).toEqual([]);

    const lead = reports.get(leader)!;
    // The leader took the submits, proposed and applied them, and (still leading) reported the task intervals.
    expect(histogramCount(lead, "raftsched_submit_duration_seconds")).toBeGreaterThanOrEqual(ids.length);
    expect(histogramCount(lead, "raftsched_raft_commit_duration_seconds")).toBeGreaterThan(0);
    expect(histogramCount(lead, "raftsched_fsync_duration_seconds")).toBeGreaterThan(0);
    expect(histogramCount(lead, "raftsched_apply_duration_seconds")).toBeGreaterThan(0);
    const stillLeader = (await cluster.status(leader))?.role === "leader";
    if (stillLeader) {
      expect(histogramCount(lead, "raftsched_task_assign_delay_seconds")).toBeGreaterThan(0);
      expect(histogramCount(lead, "raftsched_task_run_duration_seconds")).toBeGreaterThan(0);
    }
    expect(sumOf(lead, "raftsched_peer_sent_bytes_total")).toBeGreaterThan(0);
    expect(sumOf(lead, "raftsched_peer_received_bytes_total")).toBeGreaterThan(0);
    expect(family(lead, "raftsched_peer_connections_refused_total").type).toBe("COUNTER");
    expect(family(lead, "raftsched_snapshots_sent_total").type).toBe("COUNTER");
    expect(family(lead, "raftsched_snapshots_installed_total").type).toBe("COUNTER");
    expect(family(lead, "raftsched_event_loop_delay_p99_seconds").type).toBe("GAUGE");
    expect(family(lead, "raftsched_event_loop_delay_max_seconds").type).toBe("GAUGE");
    expect(family(lead, "raftsched_event_loop_delay_seconds").type).toBe("HISTOGRAM");
    const completed = family(lead, "raftsched_tasks").metrics.find((m) => m.labels?.state === "completed");
    expect(Number(completed?.value)).toBe(ids.length);
    // Each election is won by one node: summed over the nodes, at least the one that made the leader.
    const elections = [...reports.values()].reduce((s, r) => s + sumOf(r, "raftsched_leader_elections_total"), 0);
    expect(elections).toBeGreaterThanOrEqual(1);
  });
});
