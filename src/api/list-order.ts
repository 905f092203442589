// `GET /v1/tasks?order=`: "id" (the contract's default, pages with `after`) or "updated" (the most recently updated
// tasks, newest first: what a dashboard's "Recent tasks" wants). An "updated" list is one page, so `after` with it
// is refused rather than silently ignored.
import { RaftschedError } from "../util/errors.js";

export function listOrder(text: string | null, after: string | undefined): "id" | "updated" | undefined {
  if (text === null || text === "") return undefined;
  if (text !== "id" && text !== "updated") throw new RaftschedError("BAD_FIELD", 'order: must be "id" or "updated"');
  if (text === "updated" && after !== undefined) throw new RaftschedError("BAD_FIELD", 'after: not with order=updated (it answers one page, newest first)');
  return text;
}
