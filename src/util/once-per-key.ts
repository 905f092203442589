// "Log this once per address": a misconfigured peer or worker retries every second or two, and logging each
// refusal would bury everything else (and let anyone who can reach the port fill the disk). The first refusal
// from an address (with its reason) is logged; repeats are not, until the address was forgotten.
//
// Bounded: at most `maxKeys` keys are remembered; past that the oldest is forgotten (a Map iterates in insertion
// order), so many addresses cost bounded memory and an old one may be logged again, once.
export class OncePerKey {
  private readonly seen = new Map<string, true>();

  constructor(private readonly maxKeys: number) {
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`OncePerKey: maxKeys must be a positive integer, got ${maxKeys}`);
  }

  /** True the first time `key` is seen (since it was last forgotten); false for a repeat. */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.maxKeys) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(key, true);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
