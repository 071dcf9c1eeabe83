import { join } from "node:path";
import { configSpec, pipelineSpec } from "../../src/config/spec.js";
import { readHintsFor } from "../../src/contracts/read-hints.js";
import type { Engine } from "../../src/engine/engine.js";
import type { RunContext } from "../../src/plan/batch-context.js";
import { silentLogger } from "../../src/util/logger.js";
import { Progress } from "../../src/util/progress.js";

/**
 * A RunContext for tests that drive one stage (a source, a sink, the contract, dedup) through a real
 * DuckDB engine without the runner. Defaults: a generate->parquet pipeline, no contract, silent log,
 * no progress, fixed ids; `overrides` replaces any field.
 */
export function testRunContext(engine: Engine, overrides: Partial<RunContext> = {}): RunContext {
  const dataDir = overrides.dataDir ?? "/nonexistent";
  let n = 0;
  return {
    runId: "20260101T000000Z_test01",
    batchId: "b1",
    pipeline: "p",
    config: configSpec.parse({ pipelines: {} }),
    pipelineConfig: pipelineSpec.parse({
      source: { type: "generate", dataset: "behavioral_events" },
      sinks: [{ type: "parquet", path: "raw/x" }],
    }),
    contract: undefined,
    engine,
    dataDir,
    scratchDir: join(dataDir, ".tmp", "20260101T000000Z_test01"),
    configDir: dataDir,
    warehousePath: join(dataDir, "w.duckdb"),
    startedAt: new Date(),
    processingType: "batch",
    options: {},
    state: {},
    readHints: readHintsFor(overrides.contract, (overrides.pipelineConfig?.transforms.length ?? 0) > 0),
    log: silentLogger(),
    progress: new Progress(false),
    tmpName: (p) => `${p}_${++n}`,
    ...overrides,
  };
}
