// The leader's random picks use the same seeded PRNG as the core (mulberry32, src/raft/prng.ts). Deterministic
// for a seed; never used inside apply().
import { makePrng } from "../raft/prng.js";

export type Rng = () => number;

/** Uniform floats in [0, 1) from a 32-bit seed. */
export const mulberry32: (seed: number) => Rng = makePrng;
