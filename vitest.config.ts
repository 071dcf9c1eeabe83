import { defineConfig } from "vitest/config";

// Test workers are forked from this process and inherit its environment. Two glibc malloc arenas,
// the usual setting for a long-lived process with native threads (DuckDB): with the default (8 per
// core) the arenas' fragmentation reads as RSS growth in the long-session memory test.
process.env.MALLOC_ARENA_MAX ??= "2";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // test/long/ holds the full-size runs of `npm run test:long` (SLUICE_LONG=1), not `npm test`'s.
    exclude: ["**/node_modules/**", ...(process.env.SLUICE_LONG ? [] : ["test/long/**"])],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests share PostgreSQL, NATS and Redis; files run in parallel on 2 cores, tests within a file in order.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
