// When a worker may start an attempt its own table shows assigned to it, and how many slots it has free. Pure
// functions: the node's executor (task-executor.ts) and the simulator's executor model both call them, so the
// simulator proves the production rule.
//
// Why a gate: a restarted node's table is what its own log held when it stopped. While it was down its attempts may
// have been taken back (worker declared dead), run elsewhere and finished; its table still says "assigned to me,
// attempt 1" until it catches up. Starting from that table re-runs superseded attempts whose side effects (an
// e-mail, a payment) then happen twice, even though fencing refuses their late reports (issue #17). So a node
// starts attempts only once the leader has confirmed a commit index (a ReadIndex round, which the leader answers
// only after a quorum confirmed its leadership) asked for in this process and in the current term, and the node
// has applied up to it: everything committed before the question is then in its table.

/** A commit index the leader confirmed for this node: asked for in `term`, answered with `index`. */
export interface LeaderConfirmation {
  readonly index: number;
  readonly term: number;
}

export interface StartGateInput {
  /** The latest confirmation this process received (null before the first one). */
  readonly confirmed: LeaderConfirmation | null;
  readonly appliedIndex: number;
  /** The node's current Raft term. */
  readonly currentTerm: number;
}

export type StartGate =
  /** Attempts the table assigns to us may start. */
  | { readonly open: true }
  /** Not yet: `askLeader` says a new confirmation is needed (none yet, or one from an older term). */
  | { readonly open: false; readonly askLeader: boolean; readonly why: string };

/** Whether this node may start the attempts its table assigns to it now. */
export function attemptStartGate(input: StartGateInput): StartGate {
  const c = input.confirmed;
  if (c === null) return { open: false, askLeader: true, why: "the leader has not yet confirmed a commit index since this start" };
  // A new term may come with entries this node has not seen (a new leader's first entry commits the old ones):
  // ask again rather than trust an index from an older term.
  if (c.term < input.currentTerm) return { open: false, askLeader: true, why: `the confirmation is from term ${c.term}, now ${input.currentTerm}` };
  if (input.appliedIndex < c.index) return { open: false, askLeader: false, why: `applied ${input.appliedIndex} of confirmed ${c.index}` };
  return { open: true };
}

export interface SlotInput {
  readonly capacity: number;
  /** Attempts whose handler runs and is current. */
  readonly running: number;
  /** Attempts whose handler was aborted (superseded, cancelled) and has not returned yet: they still run. */
  readonly draining: number;
}

/** Free slots: a slot stays taken until its handler has returned, not merely until it was told to stop. */
export function freeSlots(s: SlotInput): number {
  return Math.max(0, s.capacity - s.running - s.draining);
}

/** An attempt of a task may not start while another attempt of the same task still runs here (aborted or not):
 *  two attempts of one task side by side on one node would both act on the task's payload. */
export function mayStartTaskHere(taskId: string, busyTaskIds: ReadonlySet<string>): boolean {
  return !busyTaskIds.has(taskId);
}
