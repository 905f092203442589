// Load tests: real clusters driven hard on purpose (`npm run test:load`). Not part of `npm test`, because they
// record an open problem rather than guard a met promise: test/load/large-submit-under-load.load.ts fails today on
// a loaded 2-core box (issue 14.3 — the event loop still blocks past the election timeout). When it passes
// reliably it moves back into test/integration.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/load/**/*.load.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    globalSetup: ["test/global-setup.ts"],
  },
});
