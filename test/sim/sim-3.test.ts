// Seeds 301..450 of the simulator (the seeds are split over four files so vitest runs them in parallel).
import { it } from "vitest";
import { expectSeedsClean } from "./seed-range.js";

it("seeds 301..450: every safety checker after every tick, then liveness after the heal", () => {
  expectSeedsClean(301, 150);
});
