// Issue 13.8 (watch part): watch streams from two nodes carry the same events for the same index range. Every
// replica derives its events with the production function (src/scheduler/task-events.ts) from what it applied;
// the recorder keeps the first replica's events per index and the checker compares every later replica's.
//
//   watchStreamsAgree  for every log index, every replica that applied it derived the same task events
//                      (same tasks, same states, attempts and workers, same deletions, same order).
import type { NodeId } from "../../src/raft/types.js";
import { isDeletion, taskEventsOf, type WatchEvent } from "../../src/scheduler/task-events.js";
import type { ApplyResult, Task } from "../../src/scheduler/types.js";
import type { Violation } from "./view.js";

/** One replica's events for one index. */
export interface WatchRecord {
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
  readonly events: readonly WatchEvent[];
}

export function watchStreamsAgree(seed: number, tick: number, first: WatchRecord, other: WatchRecord): Violation[] {
  if (JSON.stringify(first.events) === JSON.stringify(other.events)) return [];
  const show = (r: WatchRecord) => `${r.node} (tick ${r.tick}): ${r.events.map((e) => (isDeletion(e) ? `${e.id}=deleted` : `${e.id}=${e.state}#${e.attempt}@${e.worker ?? "-"}`)).join(", ") || "none"}`;
  return [{ checker: "watchStreamsAgree", seed, tick, detail: `watch events at index ${first.index} differ: ${show(first)} vs ${show(other)}` }];
}

/** The first record per index, for one seed's run (one short string array per applied index). */
export class WatchRecorder {
  private readonly firstAt = new Map<number, WatchRecord>();
  comparisons = 0;

  constructor(private readonly report: (v: Violation) => void) {}

  /** A replica applied `index` with this result; `lookup` reads its table right after. `dropRequeued`: the
   *  broken-rule switch, a replica whose derivation forgets requeued tasks (as a node of another version could);
   *  `dropDeleted`: one that forgets deletions (as a node that streamed only task changes would). */
  applied(seed: number, tick: number, node: NodeId, index: number, result: ApplyResult | undefined, lookup: (id: string) => Task | undefined, dropRequeued = false, dropDeleted = false): void {
    let input = dropRequeued && result?.ok && result.requeued ? { ...result, requeued: [] } : result;
    if (dropDeleted && input?.ok && input.deleted) input = { ...input, deleted: [] };
    const rec: WatchRecord = { index, node, tick, events: taskEventsOf(index, input, lookup) };
    const first = this.firstAt.get(index);
    if (!first) {
      this.firstAt.set(index, rec);
      return;
    }
    this.comparisons++;
    for (const v of watchStreamsAgree(seed, tick, first, rec)) this.report(v);
  }
}
