// Leadership transfer (dissertation §3.10): the leader stops taking proposals, catches the target up, then sends
// it TimeoutNow so it campaigns at once. The replication side sends TimeoutNow when the target catches up.
import { sendAppend } from "./leader-send.js";
import type { RaftState } from "./state.js";
import type { NodeId } from "./types.js";

export function transferLeadership(s: RaftState, to: NodeId): void {
  if (s.role !== "leader") return; // the runner forwards to the leader it knows
  if (to === s.id || !s.tracker.isVoter(to)) return;
  if (s.leadTransferee === to) return;
  s.leadTransferee = to;
  s.electionElapsedTicks = 0; // the transfer is abandoned after one election timeout (tickLeader)
  const pr = s.tracker.progress.get(to);
  if (!pr) return;
  if (pr.match === s.log.lastIndex()) s.send({ type: "timeoutNow", to });
  else sendAppend(s, to, pr);
}
