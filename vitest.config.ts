import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests share PostgreSQL, NATS and Redis; files run in parallel on 2 cores, tests within a file in order.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
