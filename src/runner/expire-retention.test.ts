import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pipelineSpec } from "../config/spec.js";
import type { RunRecord } from "../plan/run-record.js";
import { silentLogger } from "../util/logger.js";
import { retainAfterRun } from "./expire-retention.js";
import { Ledger } from "./ledger.js";

const record = (status: RunRecord["status"]): RunRecord => ({
  run_id: "20260310T000000Z_abc123",
  pipeline: "events",
  status,
  processing_type: "batch",
  started_at: "2026-03-10T00:00:00.000Z",
  finished_at: "2026-03-10T00:00:01.000Z",
  attempts: 1,
  source: "generate",
  rows: { extracted: 0, filtered: 0, valid: 0, quarantined: 0, duplicates: 0, duplicates_dropped: 0, written: 0 },
  outputs: [],
  durations_ms: {},
  metrics: { validation_pass_rate: 1, null_rate: {}, unique: {}, row_count_delta: null, duplicate_rate: 0 },
  alerts: [],
  warnings: [],
});

describe("retainAfterRun", () => {
  const saved = process.env.SLUICE_NOW;
  afterEach(() => {
    if (saved === undefined) delete process.env.SLUICE_NOW;
    else process.env.SLUICE_NOW = saved;
  });

  it("a sink whose retention fails is a warning in the record; the other sinks go on; the run stays succeeded", async () => {
    process.env.SLUICE_NOW = "2026-03-10T12:00:00Z";
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-retain-run-"));
    // A Delta table whose log holds no commit: reading it fails.
    mkdirSync(join(dataDir, "lake", "broken", "_delta_log"), { recursive: true });
    const snaps = join(dataDir, "lake", "snap");
    mkdirSync(snaps, { recursive: true });
    for (const n of ["snap_20260101_000000.parquet", "snap_20260309_000000.parquet"]) writeFileSync(join(snaps, n), n);
    const config = pipelineSpec.parse({
      source: { type: "generate", dataset: "behavioral_events" },
      retention_days: 30,
      sinks: [
        { type: "parquet", path: "lake/broken", layout: "partitioned", format: "delta" },
        { type: "parquet", path: "lake/snap" },
        { type: "duckdb", table: "events" },
      ],
    });
    const ledger = new Ledger(dataDir);
    const run = record("succeeded");
    await retainAfterRun(dataDir, config, run, ledger, silentLogger());

    expect(run.status).toBe("succeeded");
    expect(run.warnings).toHaveLength(1);
    expect(run.warnings[0]).toMatch(/^retention of lake\/broken failed \(the run's data is committed\): .*no commit/);
    expect(run.retention).toEqual({
      days: 30,
      now: "2026-03-10T12:00:00.000Z",
      sinks: [
        {
          sink: "parquet:lake/snap",
          layout: "snapshot",
          older_than: "2026-02-08T12:00:00.000Z",
          removed: ["snap_20260101_000000.parquet"],
          files: 1,
        },
      ],
    });
    expect(readdirSync(snaps)).toEqual(["snap_20260309_000000.parquet"]);
    expect(ledger.get(run.run_id)?.retention).toEqual(run.retention);
  });

  it("does nothing for a failed run or a pipeline without retention_days", async () => {
    process.env.SLUICE_NOW = "2030-01-01T00:00:00Z";
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-retain-run-"));
    const snaps = join(dataDir, "lake", "snap");
    mkdirSync(snaps, { recursive: true });
    for (const n of ["snap_20260101_000000.parquet", "snap_20260309_000000.parquet"]) writeFileSync(join(snaps, n), n);
    const spec = {
      source: { type: "generate", dataset: "behavioral_events" },
      sinks: [{ type: "parquet", path: "lake/snap" }],
    };
    const ledger = new Ledger(dataDir);
    const failed = record("failed");
    await retainAfterRun(dataDir, pipelineSpec.parse({ ...spec, retention_days: 1 }), failed, ledger, silentLogger());
    const plain = record("succeeded");
    await retainAfterRun(dataDir, pipelineSpec.parse(spec), plain, ledger, silentLogger());
    expect(failed.retention).toBeUndefined();
    expect(plain.retention).toBeUndefined();
    expect(readdirSync(snaps)).toHaveLength(2);
    expect(existsSync(join(dataDir, "runs"))).toBe(false);
  });
});
