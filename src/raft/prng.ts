// A tiny seeded PRNG (mulberry32): the only randomness the core, the simulator and the runner's tests use, so a
// seed replays a run exactly. Not cryptographic.

/** Returns a deterministic generator of floats in [0, 1) for the given 32-bit seed. */
export function makePrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
