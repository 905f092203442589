// The package's one public surface (package.json "exports" points here; nothing else is a public entry):
// `import { startNode } from "raftsched"` gives the same node `raftsched start` runs, in-process, with
// `onTask(handler)` to run tasks in your own code.
export { startNode } from "./server.js";
export type { RaftschedNode, StartNodeOptions, NodeStatus } from "./server.js";
export type { TaskHandler, TaskContext } from "./node/task-executor.js";
export type { Task, TaskState, JsonValue, WorkerInfo } from "./scheduler/types.js";
export { loadClusterFile, parseClusterFile } from "./config/cluster-file.js";
export type { ClusterFile, NodeSpec, StrategyName } from "./config/cluster-file.js";
export { RaftschedError } from "./util/errors.js";
