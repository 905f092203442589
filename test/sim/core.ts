// The core under test. Kept in one place so the simulator can be pointed at another implementation.
import { RaftNode } from "../../src/raft/raft.js";
import type { MakeCore } from "./node.js";

export const makeRaftNode: MakeCore = (cfg) => new RaftNode(cfg);
