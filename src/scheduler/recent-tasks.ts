// `GET /v1/tasks?order=updated`: the `limit` most recently updated tasks, newest first (the dashboard's "Recent
// tasks"). The table keeps no index by update, so this is one pass over the candidates with a bounded min-heap:
// O(n log limit) time and O(limit) memory, whatever n is — a read a dashboard makes about once a second.

/** The `limit` items with the highest key, highest first. Keys are unique (a log index per task). */
export function newestByKey<T>(items: Iterable<T>, limit: number, key: (item: T) => number): T[] {
  const heap: T[] = []; // a min-heap by key: heap[0] is the oldest of the kept ones
  const less = (a: T, b: T): boolean => key(a) < key(b);
  for (const item of items) {
    if (heap.length < limit) {
      heap.push(item);
      siftUp(heap, heap.length - 1, less);
    } else if (limit > 0 && less(heap[0]!, item)) {
      heap[0] = item;
      siftDown(heap, 0, less);
    }
  }
  return heap.sort((a, b) => key(b) - key(a));
}

function siftUp<T>(h: T[], i: number, less: (a: T, b: T) => boolean): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(h[i]!, h[parent]!)) return;
    [h[i], h[parent]] = [h[parent]!, h[i]!];
    i = parent;
  }
}

function siftDown<T>(h: T[], i: number, less: (a: T, b: T) => boolean): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let smallest = i;
    if (l < h.length && less(h[l]!, h[smallest]!)) smallest = l;
    if (r < h.length && less(h[r]!, h[smallest]!)) smallest = r;
    if (smallest === i) return;
    [h[i], h[smallest]] = [h[smallest]!, h[i]!];
    i = smallest;
  }
}
