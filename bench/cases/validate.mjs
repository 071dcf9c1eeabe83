// Contract validation alone over 1M behavioral_events rows (SPEC section 11: at least 2M rows/s),
// against DuckDB count(*) over the same rows. Rows are generated into a DuckDB table first (not timed),
// with 1 % invalid rows so the failure path (one row per broken rule, quarantine file) is exercised.
// `extra` also times a text batch (every column VARCHAR, as JSONL/CSV sources deliver it under a
// contract) and the one materialization of the valid rows downstream, next to a plain copy of the input.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSpec, contractSpec, pipelineSpec } from "../../dist/config/spec.js";
import { validateBatch } from "../../dist/contracts/validate-batch.js";
import { Engine } from "../../dist/engine/engine.js";
import { generateDataset } from "../../dist/sources/generate/generate-dataset.js";
import { silentLogger } from "../../dist/util/logger.js";
import { Progress } from "../../dist/util/progress.js";

const ROWS = 1_000_000;
const TARGET_ROWS_PER_S = 2_000_000;

const contract = contractSpec.parse({
  columns: {
    id: { type: "string", required: true, pattern: "^c[a-z0-9]{24}$", unique: true },
    userId: { type: "string", required: true },
    sessionId: { type: "string", required: true },
    eventType: {
      type: "string",
      required: true,
      enum: [
        "lesson_started",
        "lesson_completed",
        "quiz_answered",
        "card_reviewed",
        "session_started",
        "session_ended",
        "hint_requested",
        "feedback_given",
      ],
    },
    eventData: { type: "json" },
    timestamp: { type: "timestamp", required: true, not_future: true },
    experimentPhase: { type: "string", enum: ["baseline_A_1", "intervention_B_1", "baseline_A_2", "intervention_B_2"] },
    lessonId: { type: "string", required: true },
    cardId: { type: "string" },
    durationMs: { type: "integer", min: 0, max: 86400000 },
    score: { type: "number", min: 0, max: 1 },
    completed: { type: "boolean" },
    deviceType: { type: "string", enum: ["web", "ios", "android", "tablet"] },
    createdAt: { type: "timestamp", not_future: true },
    updatedAt: { type: "timestamp" },
  },
  extra_columns: "reject",
});

let n = 0;
function context(engine, dataDir) {
  return {
    runId: "bench_validate",
    batchId: "bench_validate-b1",
    pipeline: "bench",
    config: configSpec.parse({ pipelines: {} }),
    pipelineConfig: pipelineSpec.parse({
      source: { type: "generate", dataset: "behavioral_events" },
      validation: "quarantine",
      sinks: [{ type: "parquet", path: "raw/bench" }],
    }),
    contract,
    engine,
    dataDir,
    scratchDir: join(dataDir, ".tmp", "bench_validate"),
    configDir: dataDir,
    warehousePath: join(dataDir, "w.duckdb"),
    startedAt: new Date(),
    processingType: "batch",
    options: {},
    state: {},
    log: silentLogger(),
    progress: new Progress(false),
    tmpName: (p) => `${p}_${++n}`,
  };
}

async function time(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** Best of `n` runs (these machines are noisy; the best run is the least disturbed). */
async function best(n, fn) {
  let bestRun;
  for (let i = 0; i < n; i++) {
    const r = await time(() => fn(i));
    if (!bestRun || r.seconds < bestRun.seconds) bestRun = r;
  }
  return bestRun;
}

export default {
  name: "contract validation alone, 1M rows",
  target: ">= 2M rows/s",
  async run() {
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-bench-validate-"));
    const engine = await Engine.open();
    try {
      await generateDataset(
        engine,
        { dataset: "behavioral_events", rows: ROWS, seed: 7, chaos: { invalid_rate: 0.01 } },
        "src",
        { sourcePos: true },
      );
      const cols = await engine.columns("src");
      await engine.run(
        `CREATE TABLE src_text AS SELECT ${cols.map((c) => `"${c.name}"::VARCHAR AS "${c.name}"`).join(", ")} FROM src`,
      );

      const reference = await best(3, () => engine.count("src"));
      const typed = await best(3, () => validateBatch(context(engine, dataDir), "src", undefined));
      const text = await best(3, () => validateBatch(context(engine, dataDir), "src_text", undefined));
      const r = typed.value;
      const copy = await best(2, (i) => engine.run(`CREATE OR REPLACE TABLE copy_${i} AS SELECT * FROM src`));
      const materialize = await best(2, (i) =>
        engine.run(`CREATE OR REPLACE TABLE valid_${i} AS SELECT * FROM ${r.valid}`),
      );

      const rowsPerS = ROWS / typed.seconds;
      return {
        seconds: typed.seconds,
        reference_seconds: reference.seconds,
        ratio: typed.seconds / reference.seconds,
        pass: rowsPerS >= TARGET_ROWS_PER_S && r.validRows + r.quarantinedRows === ROWS,
        extra: {
          rows_per_s: Math.round(rowsPerS),
          valid: r.validRows,
          quarantined: r.quarantinedRows,
          text_batch_seconds: Number(text.seconds.toFixed(3)),
          text_rows_per_s: Math.round(ROWS / text.seconds),
          materialize_valid_seconds: Number(materialize.seconds.toFixed(3)),
          plain_copy_seconds: Number(copy.seconds.toFixed(3)),
        },
      };
    } finally {
      engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
