// The verdict a person reads at the end of a run, and the report files (--report <dir>).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { historyToJsonLines, type HistoryEvent } from "./history.js";
import type { ChaosReport } from "./chaos-report.js";
import { formatSpread } from "./stats.js";

/** The linearizable line: begins with "linearizable: yes" or "linearizable: no", as README, "Chaos testing", promises. */
export function linearizableLine(r: ChaosReport): string {
  if (r.linearizable === "yes") return "linearizable: yes";
  if (r.linearizable === "no") return "linearizable: no";
  return "linearizable: no (unproven: the checker gave up)";
}

/** The verdict block: its first line and its last line are the linearizable line. */
export function verdictText(r: ChaosReport): string {
  const faults = Object.entries(r.faults.byKind)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const lines = [
    `${linearizableLine(r)}${r.checker ? ` (${r.checker.operations} operations on ${r.checker.partitions} tasks, checked in ${(r.checker.elapsedMs / 1000).toFixed(1)} s)` : ""}`,
    `acknowledged tasks lost: ${r.lost.length} of ${r.acknowledged}`,
    `duplicated tasks: ${r.duplicated.length}`,
    `tasks with two current attempts: ${r.replicaMismatches.length} (${r.replicasCompared.nodes} replicas compared at applied index ${r.replicasCompared.appliedIndex ?? "?"}, ${r.replicasCompared.tasks} tasks)`,
    `leader failovers: ${r.failovers.count}; client-observed write unavailability: ${formatSpread(r.failovers.unavailability)}`,
    `worker-loss reassignment: ${r.reassignment.workerLosses} lost workers, ${r.reassignment.tasks} tasks; time to move on: ${formatSpread(r.reassignment.moved)}${r.reassignment.notMoved > 0 ? ` (${r.reassignment.notMoved} not observed moving)` : ""}`,
    ...(r.workers ? [workersLine(r.workers)] : []),
    `faults: ${r.faults.total}${faults ? ` (${faults})` : ""}; seed ${r.seed}; ${Math.round(r.durationMs / 1000)} s; ${r.operations.invoked} client operations (ok ${r.operations.ok}, fail ${r.operations.fail}, unknown ${r.operations.unknown}, refused ${r.operations.refused})`,
    `stale-worker completions (attempt already superseded): ${r.staleReports.sent} sent, ${r.staleReports.refused} refused with 409`,
    `queue lifecycle: ${r.lifecycle.delete} deletes, ${r.lifecycle.retry} retries, ${r.lifecycle.cancel} cancels of running tasks`,
    delayedLine(r),
    ...(r.schedules ? [schedulesLine(r.schedules)] : []),
    `quiescence: ${r.quiescence.reached ? `reached after ${(r.quiescence.waitedMs / 1000).toFixed(1)} s` : `NOT reached (${r.quiescence.unfinished} tasks unfinished)`}`,
    `violations: ${r.violations.length === 0 ? "none" : r.violations.length}`,
  ];
  for (const v of r.violations) lines.push(`  - ${v}`);
  if (r.counterexample) lines.push("counterexample:", ...r.counterexample.split("\n").map((l) => `  ${l}`));
  lines.push(linearizableLine(r));
  return lines.join("\n");
}

/** Delayed submits: how many, how many were seen running, and the check's counts (delayed-tasks.ts). */
function delayedLine(r: ChaosReport): string {
  const d = r.delayed;
  return `delayed tasks: ${d.delayed} submitted with runAt/delayMs, ${d.seenRunning} seen running; seen assigned before runAt ${d.early.length}, runAt changed ${d.runAtChanged.length}, runAt not as asked ${d.runAtNotAsked.length} (watch: ${r.watch.events} events, ${r.watch.gaps} gaps)`;
}

/** Recurring schedules (schedule-check.ts). */
function schedulesLine(s: NonNullable<ChaosReport["schedules"]>): string {
  const replayed = s.replayed.reduce((n, x) => n + x.slots.length, 0);
  return `schedules: ${s.schedules}, ${s.slotsFired} slots run; slot run twice ${s.createdTwice.length + s.completedTwice.length}, early ${s.early.length}, not a slot ${s.notASlot.length}, skipped while a leader was available ${s.skippedWithLeader.length} (${s.slotsMissedExcused} missed in a leader change, fault or the downtime); planned downtime: ${s.downtimeSlots} slots missed, ${replayed} replayed`;
}

/** With --workers: the external workers' check (an attempt on two workers is a violation) and fencing's refusals. */
function workersLine(w: NonNullable<ChaosReport["workers"]>): string {
  return `external workers: ${w.count}; attempts started ${w.attemptsStarted}, on two workers ${w.attemptsOnTwoWorkers.length}; stale reports refused ${w.reportsRefused}`;
}

export function reportMarkdown(r: ChaosReport, command: string): string {
  const row = (k: string, v: string | number): string => `| ${k} | ${v} |`;
  const out = [
    `# raftsched chaos report`,
    "",
    `- date: ${r.startedAt}`,
    `- command: \`${command}\``,
    `- cluster: ${r.nodes.length} nodes (${r.nodes.join(", ")}) shaped like \`${r.config}\`, ${r.clients} clients, seed ${r.seed}, ${Math.round(r.durationMs / 1000)} s`,
    `- fault kinds: ${r.faultKinds.join(", ")}`,
    "",
    "| check | result |",
    "| --- | --- |",
    row("linearizable", r.linearizable),
    row("acknowledged tasks lost", `${r.lost.length} of ${r.acknowledged}`),
    row("duplicated tasks", r.duplicated.length),
    row("tasks with two current attempts (replica mismatches)", r.replicaMismatches.length),
    row("leader failovers", r.failovers.count),
    row("write unavailability per failover", formatSpread(r.failovers.unavailability)),
    row("worker losses / tasks to move", `${r.reassignment.workerLosses} / ${r.reassignment.tasks}`),
    row("worker-loss reassignment time", formatSpread(r.reassignment.moved)),
    ...(r.workers ? [row("external workers", workersLine(r.workers).replace(/^external workers: /, ""))] : []),
    row("client operations", `${r.operations.invoked} (ok ${r.operations.ok}, fail ${r.operations.fail}, unknown ${r.operations.unknown}, refused ${r.operations.refused})`),
    row("checker", r.checker ? `${r.checker.operations} ops, ${r.checker.partitions} partitions, largest ${r.checker.largestPartition}, ${(r.checker.elapsedMs / 1000).toFixed(1)} s` : "-"),
    row("delayed tasks", delayedLine(r).replace(/^delayed tasks: /, "")),
    ...(r.schedules ? [row("schedules", schedulesLine(r.schedules).replace(/^schedules: /, ""))] : []),
    row("quiescence", r.quiescence.reached ? `${(r.quiescence.waitedMs / 1000).toFixed(1)} s` : `not reached (${r.quiescence.unfinished} unfinished)`),
    "",
    "## Faults",
    "",
    ...Object.entries(r.faults.byKind).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "## Violations",
    "",
    ...(r.violations.length === 0 ? ["none"] : r.violations.map((v) => `- ${v}`)),
  ];
  if (r.counterexample) out.push("", "## Counterexample", "", "```", r.counterexample, "```");
  return out.join("\n") + "\n";
}

export function writeReport(dir: string, r: ChaosReport, events: readonly HistoryEvent[], command: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "history.jsonl"), historyToJsonLines(events));
  writeFileSync(path.join(dir, "report.json"), JSON.stringify({ command, ...r }, null, 2) + "\n");
  writeFileSync(path.join(dir, "report.md"), reportMarkdown(r, command));
}
