// Seeds 1..150 of the simulator (the seeds are split over four files so vitest runs them in parallel).
import { it } from "vitest";
import { expectSeedsClean } from "./seed-range.js";

it("seeds 1..150: every safety checker after every tick, then liveness after the heal", () => {
  expectSeedsClean(1, 150);
});
