// Errors the table throws. They mean a broken invariant (entries applied out of order, a corrupt snapshot):
// the node must stop rather than serve a table that differs from the other replicas'.

export class TableError extends Error {
  constructor(
    readonly code: "APPLY_ORDER" | "BAD_SNAPSHOT" | "INVARIANT",
    message: string,
  ) {
    super(message);
    this.name = "TableError";
  }
}
