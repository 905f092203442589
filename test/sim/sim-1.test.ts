// Seeds 1..150 of the simulator (the seeds are split over four files so vitest runs them in parallel).
import { describe } from "vitest";
import { itSeedsClean } from "./seed-range.js";

describe("seeds 1..150: every safety checker after every tick, then liveness after the heal", () => {
  itSeedsClean(1, 150);
});
