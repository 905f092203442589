// The leader's random picks use the core's seeded PRNG (makePrng, src/raft/prng.ts): deterministic for a seed;
// never used inside apply().

/** A source of uniform floats in [0, 1), e.g. makePrng(seed). */
export type Rng = () => number;
