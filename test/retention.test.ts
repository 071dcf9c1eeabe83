import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/engine/engine.js";
import { deltaScanSql, readDeltaSnapshot } from "../src/lake/delta/index.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";

/** Ten days of generated events ending at `anchor`, into a Delta table and a Hive tree; 5 days kept. */
const yaml = (anchor: string) => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 600, seed: 5, anchor: "${anchor}", days: 10 }
    validation: "off"
    retention_days: 5
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, format: delta, time_column: timestamp }
      - { type: parquet, path: lake/hive, layout: partitioned, time_column: timestamp }
`;

async function run(dir: string, now: string): Promise<{ record: RunRecord; stderr: string }> {
  const r = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_NOW: now, LOG_LEVEL: "info" } });
  expect(r.code, r.stderr).toBe(0);
  return { record: JSON.parse(r.stdout) as RunRecord, stderr: r.stderr };
}

const dates = (from: string, n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.parse(from) + i * 86_400_000).toISOString().slice(0, 10));

describe("retention_days", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open();
  });
  afterAll(() => engine.close());

  /** Rows per event_date of the Delta table as of `version`, as "date:count". */
  const deltaRows = async (root: string, version?: number) => {
    const snapshot = await readDeltaSnapshot(root, version === undefined ? {} : { version }, engine);
    const rows = await engine.all<{ d: string; n: bigint }>(
      `SELECT CAST(event_date AS VARCHAR) AS d, count(*) AS n FROM ${deltaScanSql(snapshot)} GROUP BY d ORDER BY d`,
    );
    return rows.map((r) => `${r.d}:${Number(r.n)}`);
  };

  /** Rows per event_date of the Hive tree (through its published link), as "date:count". */
  const hiveRows = async (root: string) => {
    const rows = await engine.all<{ d: string; n: bigint }>(
      `SELECT CAST(event_date AS VARCHAR) AS d, count(*) AS n FROM read_parquet('${root}/**/*.parquet', hive_partitioning = true) GROUP BY d ORDER BY d`,
    );
    return rows.map((r) => `${r.d}:${Number(r.n)}`);
  };

  it("removes old partitions from a Delta table (DELETE commit, vacuum later) and a Hive tree after each run", async () => {
    const dir = projectDir(yaml("2026-03-01T00:00:00Z"));
    const delta = join(dir, "data", "lake", "events");
    const hive = join(dir, "data", "lake", "hive");

    // Run 1 at 2026-03-01 12:00: 5 days back is 2026-02-24; 2026-02-19 .. 02-23 go.
    const first = await run(dir, "2026-03-01T12:00:00Z");
    const written = await deltaRows(delta, 0);
    expect(written.map((r) => r.slice(0, 10))).toEqual(dates("2026-02-19", 10));
    const kept = written.slice(5);
    expect(first.record.retention).toMatchObject({ days: 5, now: "2026-03-01T12:00:00.000Z" });
    expect(first.record.retention?.sinks).toEqual([
      expect.objectContaining({
        sink: "parquet:lake/events",
        layout: "delta",
        older_than: "2026-02-24",
        column: "event_date",
        removed: dates("2026-02-19", 5).map((d) => `event_date=${d}`),
        version: 1,
        vacuumed: 0,
      }),
      expect.objectContaining({
        sink: "parquet:lake/hive",
        layout: "partitioned",
        older_than: "2026-02-24",
        removed: dates("2026-02-19", 5).map((d) => `event_date=${d}`),
      }),
    ]);
    expect(first.record.warnings).toEqual([]);
    expect(first.stderr).toContain(
      "retention: removed 5 partitions older than 2026-02-24 from lake/events (Delta version 1)",
    );
    expect(first.stderr).toContain("retention: removed 5 partitions older than 2026-02-24 from lake/hive");

    // Delta: version 1 is the DELETE; the kept partitions are row for row those written; version 0 still reads.
    const v1 = await readDeltaSnapshot(delta, {}, engine);
    expect(v1.version).toBe(1);
    expect(v1.commitInfo).toMatchObject({ operation: "DELETE", sluiceRunId: first.record.run_id });
    expect(await deltaRows(delta)).toEqual(kept);
    expect(await deltaRows(delta, 0)).toEqual(written);
    // Hive: the published tree holds the kept partitions only, with the same rows.
    expect(readdirSync(hive).sort()).toEqual(dates("2026-02-24", 5).map((d) => `event_date=${d}`));
    expect(await hiveRows(hive)).toEqual(kept);
    // The record on disk carries the retention too.
    const runs = await runCli(["runs", "--json"], { cwd: dir });
    expect(JSON.stringify(JSON.parse(runs.stdout))).toContain('"older_than":"2026-02-24"');

    // `sluice expire --dry-run` two days later: what would go, nothing removed.
    const dry = await runCli(["expire", "events", "--dry-run", "--json"], {
      cwd: dir,
      env: { SLUICE_NOW: "2026-03-03T12:00:00Z" },
    });
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as { dry_run: boolean; sinks: { removed: string[] }[] };
    expect(planned.dry_run).toBe(true);
    expect(planned.sinks.map((s) => s.removed)).toEqual([
      ["event_date=2026-02-24", "event_date=2026-02-25"],
      ["event_date=2026-02-24", "event_date=2026-02-25"],
    ]);
    expect((await readDeltaSnapshot(delta, {}, engine)).version).toBe(1);
    expect(await hiveRows(hive)).toEqual(kept);

    // Run 2, eight days later, data ending 2026-03-09: the write, then 02-27 .. 03-03 expire, and
    // vacuum (168 hours) deletes the files run 1 removed: version 0 no longer reads.
    writeFileSync(join(dir, "sluice.yaml"), yaml("2026-03-09T00:00:00Z"));
    const second = await run(dir, "2026-03-09T12:00:00Z");
    const [deltaSink, hiveSink] = second.record.retention!.sinks;
    expect(deltaSink).toMatchObject({
      older_than: "2026-03-04",
      removed: dates("2026-02-27", 5).map((d) => `event_date=${d}`),
      version: 3,
    });
    expect(deltaSink!.vacuumed).toBeGreaterThan(0);
    expect(hiveSink).toMatchObject({ removed: dates("2026-02-27", 5).map((d) => `event_date=${d}`) });
    expect((await deltaRows(delta)).map((r) => r.slice(0, 10))).toEqual(dates("2026-03-04", 5));
    for (const d of dates("2026-02-19", 5)) expect(existsSync(join(delta, `event_date=${d}`))).toBe(false);
    await expect(deltaRows(delta, 0)).rejects.toThrow();
    expect(readdirSync(hive).sort()).toEqual(dates("2026-03-04", 5).map((d) => `event_date=${d}`));
    expect(await hiveRows(hive)).toEqual(await deltaRows(delta));
  });
});
