// The convention checker fires on each broken rule, and a node's /metrics text (NodeMetrics over a stand-in replica)
// passes it with every histogram the issue names present and fed.
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { NodeMetrics } from "../../../src/node/metrics.js";
import type { ReplicaHandle } from "../../../src/node/replica-handle.js";
import type { Task } from "../../../src/scheduler/types.js";
import { checkMetricConventions, family, histogramCount } from "../../metric-conventions.js";

const CLEAN = `# HELP x_total ok
# TYPE x_total counter
x_total 1
# HELP y_seconds ok
# TYPE y_seconds histogram
y_seconds_bucket{le="1"} 1
y_seconds_bucket{le="+Inf"} 1
y_seconds_sum 0.5
y_seconds_count 1
`;

describe("checkMetricConventions", () => {
  it("passes a clean exposition", () => {
    expect(checkMetricConventions(CLEAN).problems).toEqual([]);
  });

  it.each([
    ["a gauge named _total", "# HELP g_total h\n# TYPE g_total gauge\ng_total 1\n", /g_total: a gauge named _total/],
    ["a counter without _total", "# HELP c h\n# TYPE c counter\nc 1\n", /c: a counter whose name does not end in _total/],
    ["a histogram without a unit", "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n", /h: a histogram without a unit/],
    ["no HELP", "# TYPE n gauge\nn 1\n", /n: no HELP/],
    ["no TYPE", "# HELP u h\nu 1\n", /u: no TYPE/],
    ["milliseconds in a name", "# HELP d_ms h\n# TYPE d_ms gauge\nd_ms 1\n", /d_ms: a non-base unit/],
    ["a gauge per task state", "# HELP raftsched_tasks_pending h\n# TYPE raftsched_tasks_pending gauge\nraftsched_tasks_pending 1\n", /raftsched_tasks\{state\}/],
  ])("fires on %s", (_what, text, problem) => {
    expect(checkMetricConventions(text).problems.join("\n")).toMatch(problem);
  });
});

/** A replica as the metrics read it: a leader with a few tasks and no peers. */
function standIn(): ReplicaHandle {
  const counts = { pending: 1, assigned: 2, completed: 3, dead: 0, cancelled: 0 };
  return {
    id: "n1",
    cfg: { cluster: "unit" },
    runner: { appliedIndex: 7, pendingProposals: 0, isLeader: true, counters: { readies: 1, fsyncs: 2, entriesPersisted: 3, entriesApplied: 3, messagesSent: 4 } },
    executor: { active: 1, completedCount: 5, failedCount: 1 },
    duties: { placementCounts: { rounds: 3, skippedInFlight: 1, commands: 2, assignments: 4 } },
    table: { counts: () => counts },
    raftStatus: () => ({ term: 2, role: "leader", commit: 7, lastIndex: 7 }),
    status: () => ({ id: "n1", role: "leader", term: 2, leaderId: "n1", commitIndex: 7, appliedIndex: 7 }),
  } as unknown as ReplicaHandle;
}

function task(id: string, state: Task["state"], attempt: number): Task {
  return { id, state, worker: "n1", attempt, payload: null, priority: 0, maxAttempts: 3, requires: [], timeoutMs: null, runAt: null, createdIndex: 1, updatedIndex: 2 };
}

describe("NodeMetrics", () => {
  let metrics: NodeMetrics | null = null;
  afterEach(() => metrics?.stop());

  it("serves text that keeps the conventions, with every histogram fed", async () => {
    metrics = new NodeMetrics(standIn());
    metrics.observer.fsync(0.002);
    metrics.observer.apply(0.00002);
    metrics.observer.commit(0.004);
    metrics.observer.snapshotInstalled();
    metrics.onRoleChange("leader", 2);
    metrics.onApplied({ ok: true, task: task("t1", "pending", 0), created: true });
    metrics.onApplied({ ok: true, assigned: [{ taskId: "t1", worker: "n1", attempt: 1 }] });
    metrics.onApplied({ ok: true, task: task("t1", "completed", 1) });
    const req = { method: "POST", url: "/v1/tasks" } as IncomingMessage;
    const res = Object.assign(new EventEmitter(), { statusCode: 201 }) as unknown as ServerResponse;
    metrics.timeRequest(req, res);
    res.emit("finish");

    const { body } = await metrics.render();
    const report = checkMetricConventions(body);
    expect(report.problems).toEqual([]);
    for (const name of [
      "raftsched_submit_duration_seconds",
      "raftsched_task_assign_delay_seconds",
      "raftsched_task_run_duration_seconds",
      "raftsched_raft_commit_duration_seconds",
      "raftsched_fsync_duration_seconds",
      "raftsched_apply_duration_seconds",
    ]) {
      expect(family(report, name).type, name).toBe("HISTOGRAM");
      expect(histogramCount(report, name), name).toBe(1);
    }
    expect(family(report, "raftsched_tasks").metrics.find((m) => m.labels?.state === "completed")?.value).toBe("3");
    expect(family(report, "raftsched_fsyncs_total").type).toBe("COUNTER");
    expect(family(report, "raftsched_leader_elections_total").metrics[0]?.value).toBe("1");
    expect(family(report, "raftsched_snapshots_installed_total").metrics[0]?.value).toBe("1");
    expect(family(report, "raftsched_event_loop_delay_max_seconds").type).toBe("GAUGE");
    expect(family(report, "raftsched_event_loop_delay_seconds").type).toBe("HISTOGRAM");
  });

  it("a blocked event loop lands in the delay histogram's upper buckets", async () => {
    metrics = new NodeMetrics(standIn());
    const blockUntil = performance.now() + 300;
    while (performance.now() < blockUntil) {
      // a 300 ms stall, as a long synchronous job would make
    }
    await new Promise((r) => setTimeout(r, 250)); // the sampler runs (late) and again on time
    const text = (await metrics.render()).body;
    const bucket = (le: string): number => Number(new RegExp(`raftsched_event_loop_delay_seconds_bucket\\{[^}]*le="${le}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? NaN);
    const count = Number(/raftsched_event_loop_delay_seconds_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? NaN);
    expect(count).toBeGreaterThanOrEqual(2);
    // At least one sample came more than 100 ms late (the stall), so not every sample is in the 0.1 s bucket.
    expect(bucket("0.1")).toBeLessThan(count);
  });

  it("the Grafana dashboard (deploy/grafana/raftsched.json) queries only metrics a node serves", async () => {
    metrics = new NodeMetrics(standIn());
    const served = new Set(checkMetricConventions((await metrics.render()).body).families.map((f) => f.name));
    const dashboard = JSON.parse(readFileSync(new URL("../../../deploy/grafana/raftsched.json", import.meta.url), "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const queried = new Set<string>();
    for (const p of dashboard.panels) for (const t of p.targets) for (const m of t.expr.matchAll(/raftsched_[a-z0-9_]+/g)) queried.add(m[0].replace(/_(bucket|sum|count)$/, ""));
    expect(queried.size).toBeGreaterThan(15);
    expect([...queried].filter((name) => !served.has(name))).toEqual([]);
  });

  it("the metrics before issue 15 fail the checker (gauges named _total, a gauge per task state)", () => {
    const before = "# HELP raftsched_fsyncs_total Synced storage batches\n# TYPE raftsched_fsyncs_total gauge\nraftsched_fsyncs_total 2\n" +
      "# HELP raftsched_tasks_pending Tasks in state pending\n# TYPE raftsched_tasks_pending gauge\nraftsched_tasks_pending 1\n";
    expect(checkMetricConventions(before).problems).toHaveLength(2);
  });
});
