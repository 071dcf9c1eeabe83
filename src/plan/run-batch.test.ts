import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRunContext } from "../../test/support/run-context.js";
import { configSpec } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { silentLogger } from "../util/logger.js";
import { Progress } from "../util/progress.js";
import type { RunContext } from "./batch-context.js";
import type { StageTimer } from "./batch-outcome.js";
import { compilePlan } from "./batch-plan.js";
import { runBatch } from "./run-batch.js";

const config = configSpec.parse({
  pipelines: {
    events: {
      source: { type: "generate", dataset: "pubsub" },
      contract: { columns: { id: { type: "integer", required: true }, v: { type: "string", min_length: 1 } } },
      validation: "quarantine",
      dedup: { strategy: "merge", key: ["id"], order_by: "id" },
      sinks: [{ type: "parquet", path: "raw/events" }],
    },
  },
});

const timed: StageTimer = (_stage, fn) => fn();

/**
 * RSS after a full garbage collection: DuckDB results are native memory that V8 frees only when
 * their JS wrappers are collected, so without it RSS measures garbage not yet collected, not what
 * the session holds.
 */
function retainedRss(): number {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  return process.memoryUsage().rss;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Relations of the session (what a long-lived worker must not accumulate). */
async function relations(engine: Engine): Promise<number> {
  const [row] = await engine.all<{ n: bigint }>(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'main'",
  );
  return Number(row?.n ?? 0);
}

describe("runBatch in a session that outlives many batches", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open();
  });
  afterAll(() => engine.close());

  it("drives 1,000 batches of 100 rows through one engine without growing", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-plan-"));
    const plan = compilePlan(config, "events");
    const base = testRunContext(engine, {
      dataDir,
      scratchDir: join(dataDir, ".tmp", "worker"),
      pipeline: "events",
      pipelineConfig: plan.config,
      contract: plan.contract,
      log: silentLogger(),
      progress: new Progress(false),
    });
    let wrong = 0;
    // RSS is sampled over the five batches up to 100 and up to 1,000 (median): one reading swings by 5 %.
    const early: number[] = [];
    const late: number[] = [];
    let relationsAt100 = 0;
    for (let b = 1; b <= 1000; b++) {
      const ctx: RunContext = {
        ...base,
        batchId: `batch-${b}`,
        tmpName: (
          (n) => (p: string) =>
            `${p}_${b}_${++n}`
        )(0),
      };
      const input = `input_${b}`;
      // One row in each batch breaks the contract (empty v): quarantined, never written.
      await engine.run(
        `CREATE TABLE ${input} AS SELECT (i + ${b * 100})::VARCHAR AS id, CASE WHEN i = 0 THEN '' ELSE 'v' || i END AS v FROM range(100) t(i)`,
      );
      const outcome = await runBatch(
        ctx,
        plan,
        { relation: input, rows: 100, extent: "replace", complete: true, description: input },
        { timed },
      );
      const { extracted, valid, quarantined } = outcome.rows;
      if (extracted !== 100 || valid !== 99 || quarantined !== 1) wrong++;
      await engine.run(`DROP TABLE ${input}`);
      if (b === 100) relationsAt100 = await relations(engine);
      if (b > 95 && b <= 100) early.push(retainedRss());
      if (b > 995) late.push(retainedRss());
    }
    expect(wrong).toBe(0);
    expect(await relations(engine)).toBe(relationsAt100);
    expect(median(late), `RSS ${median(early) >> 20} MB at batch 100`).toBeLessThan(median(early) * 1.1);
  });
});
