// An ordered set kept as a list of sorted blocks (a flat, two-level B-tree). Insert and delete cost a binary
// search over blocks plus a splice inside one block of at most MAX_BLOCK elements, so a million tasks never
// pay an O(n) array shift; iteration from a cursor starts with the same binary search.
// Elements are compared with a total order; two elements comparing 0 are the same element.
//
// freeze() hands out a read-only view of the current contents in O(blocks) time (a copy of the block array, not
// of the elements): the frozen blocks become copy-on-write, so the first later change to one of them copies
// that block (at most MAX_BLOCK pointers) instead of editing it. A snapshot serializes the view at leisure while
// the list keeps changing.

const MAX_BLOCK = 1024;

/** The list's contents at the moment freeze() was called; never changes afterwards. */
export interface FrozenList<T> {
  /** Sorted blocks; their concatenation is the list in order. Must not be modified. */
  readonly blocks: readonly (readonly T[])[];
  readonly size: number;
}

export class SortedList<T> {
  private blocks: T[][] = [];
  private count = 0;
  /** Blocks some FrozenList still reads: copied before their first change. Weak, so a block that left the list
   *  (copied, emptied) is not kept alive here. Each freeze() replaces the set: a block frozen earlier is either
   *  still in the list (so in the new set too) or was already copied away. */
  private shared: WeakSet<T[]> | null = null;

  constructor(private readonly compare: (a: T, b: T) => number) {}

  /** Builds a list from elements already in strictly ascending order (restore: no per-element search). */
  static fromSorted<T>(compare: (a: T, b: T) => number, sorted: readonly T[]): SortedList<T> {
    const list = new SortedList(compare);
    const half = MAX_BLOCK / 2;
    for (let i = 0; i < sorted.length; i += half) list.blocks.push(sorted.slice(i, i + half));
    list.count = sorted.length;
    return list;
  }

  /** Appends elements in strictly ascending order, all after every element already in the list (a restore in
   *  slices: src/scheduler/table-restore-slices.ts). Fills the last block to half a block first, so blocks stay
   *  as full as fromSorted makes them however small the pieces appended. Never called on a frozen list. */
  appendSorted(sorted: readonly T[]): void {
    const half = MAX_BLOCK / 2;
    let i = 0;
    const last = this.blocks[this.blocks.length - 1];
    if (last !== undefined && last.length < half && (this.shared === null || !this.shared.has(last))) {
      const take = Math.min(half - last.length, sorted.length);
      for (; i < take; i++) last.push(sorted[i]!);
    }
    for (; i < sorted.length; i += half) this.blocks.push(sorted.slice(i, i + half));
    this.count += sorted.length;
  }

  get size(): number {
    return this.count;
  }

  /** The current contents, frozen: O(number of blocks), later changes copy the blocks they touch. */
  freeze(): FrozenList<T> {
    const blocks = this.blocks.slice();
    this.shared = new WeakSet(blocks);
    return { blocks, size: this.count };
  }

  /** Replaces the element equal to x (same sort key) with x; false when absent. */
  replace(x: T): boolean {
    const b = this.blockFor((y) => this.compare(y, x));
    if (b === this.blocks.length) return false;
    const i = lowerBound(this.blocks[b]!, (y) => this.compare(y, x));
    if (i === this.blocks[b]!.length || this.compare(this.blocks[b]![i]!, x) !== 0) return false;
    this.writableBlock(b)[i] = x;
    return true;
  }

  /** Adds x; false when an equal element is already present. */
  insert(x: T): boolean {
    if (this.blocks.length === 0) {
      this.blocks.push([x]);
      this.count = 1;
      return true;
    }
    // The first block whose last element is >= x; past the end: append to the last block.
    let b = this.blockFor((y) => this.compare(y, x));
    if (b === this.blocks.length) b -= 1;
    const i = lowerBound(this.blocks[b]!, (y) => this.compare(y, x));
    if (i < this.blocks[b]!.length && this.compare(this.blocks[b]![i]!, x) === 0) return false;
    const block = this.writableBlock(b);
    block.splice(i, 0, x);
    this.count += 1;
    if (block.length > MAX_BLOCK) this.blocks.splice(b + 1, 0, block.splice(MAX_BLOCK / 2));
    return true;
  }

  /** Removes the element equal to x; false when absent. */
  delete(x: T): boolean {
    const b = this.blockFor((y) => this.compare(y, x));
    if (b === this.blocks.length) return false;
    const i = lowerBound(this.blocks[b]!, (y) => this.compare(y, x));
    if (i === this.blocks[b]!.length || this.compare(this.blocks[b]![i]!, x) !== 0) return false;
    const block = this.writableBlock(b);
    block.splice(i, 1);
    this.count -= 1;
    if (block.length === 0) this.blocks.splice(b, 1);
    return true;
  }

  /** Elements in order, starting with the first one for which position(x) > 0 ("after the cursor");
   *  position must be monotone over the order (negative or zero before/at the cursor, positive after). */
  *after(position?: (x: T) => number): IterableIterator<T> {
    let b = 0;
    let i = 0;
    if (position !== undefined) {
      const atOrBefore = (y: T): number => (position(y) > 0 ? 1 : -1);
      b = this.blockFor(atOrBefore);
      if (b < this.blocks.length) i = lowerBound(this.blocks[b]!, atOrBefore);
    }
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b]!;
      // Copy-free iteration; callers must not mutate the list while iterating.
      for (; i < block.length; i++) yield block[i]!;
    }
  }

  first(): T | undefined {
    return this.blocks[0]?.[0];
  }

  toArray(): T[] {
    return this.blocks.flat();
  }

  /** Block b, copied first if a FrozenList shares it. */
  private writableBlock(b: number): T[] {
    const block = this.blocks[b]!;
    if (this.shared === null || !this.shared.has(block)) return block;
    const copy = block.slice();
    this.blocks[b] = copy;
    return copy;
  }

  /** Index of the first block whose last element has sign(y) >= 0, or blocks.length. */
  private blockFor(sign: (y: T) => number): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid]!;
      if (sign(block[block.length - 1]!) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The first index i with sign(arr[i]) >= 0. */
function lowerBound<T>(arr: readonly T[], sign: (y: T) => number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sign(arr[mid]!) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Code-unit order, the same on every replica and independent of locale (never localeCompare). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
