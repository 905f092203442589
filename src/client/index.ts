// `import { Client } from "raftsched/client"` (package.json exports "./client").
export { Client, ClientError } from "./client.js";
export type { ClientOptions, DeleteAnswer, ListQuery, SubmitInput, Task, TaskDeletedEvent, TaskEvent, TaskPage, TaskState, WatchOptions } from "./types.js";
