// Rolling hand-overs under load, as both hand-over tests drive them: each round SIGTERMs the current leader (after the
// clients were told to stop choosing it), checks it exits 0, restarts it and waits until it has caught up.
import { expect } from "vitest";
import { type Cluster, sleep, waitFor } from "./cluster-harness.js";

/** `stopping(id)` is told the node about to go (clients stop writing to it), then `stopping(null)` once it is back. */
export async function gracefulLeaderRestarts(cl: Cluster, rounds: number, stopping: (id: string | null) => void): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const leader = await cl.waitForLeader(10_000);
    stopping(leader); // clients stop choosing it before the signal: they write only to nodes that stay up
    await sleep(100);
    await cl.kill(leader, "SIGTERM");
    expect(await cl.exited(leader)).toEqual({ code: 0, signal: null });
    await cl.restart(leader);
    stopping(null);
    const next = await cl.waitForLeader(10_000);
    const target = (await cl.status(next))?.commitIndex ?? 0;
    await waitFor(`${leader} to catch up`, 20_000, async () => ((await cl.status(leader))?.appliedIndex ?? 0) >= target);
    await sleep(1000);
  }
}
