// The scheduler's public surface for the node runner, the API server and the simulator.

export * from "./types.js";
export * from "./commands.js";
export { TaskTable, TableError, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, byQueueOrder } from "./table.js";
export type { ListOptions, TaskPage, TaskCounts, PendingEntry } from "./table.js";
export * from "./strategies.js";
export * from "./planner.js";
export { mulberry32, type Rng } from "./prng.js";
export { isJsonValue, jsonProblem } from "./json-value.js";
