import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

const pipeline = (rows: number) => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: ${rows}, seed: 3 }
    validation: "off"
    dedup: { strategy: bronze_append, key: [id] }
    sinks:
      - { type: parquet, path: raw/behavioral_events, layout: snapshot, compression: zstd }
      - type: duckdb
        schema: research
        table: behavioral_events
        mode: table
        order_by: timestamp
        indexes: [[userId, timestamp], [eventType]]
`;

/** Runs SQL over a file with a fresh DuckDB; `$FILE` is replaced by the path. */
function query<T = Record<string, unknown>>(file: string, sql: string): Promise<T[]> {
  return duckQuery<T>(sql.replaceAll("$FILE", file));
}

describe("sluice run: generate -> Parquet snapshot -> DuckDB table", () => {
  it("prints only the run record on stdout with --json, and the ledger keeps it", async () => {
    const dir = projectDir(pipeline(2000));
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record).toMatchObject({ pipeline: "events", status: "succeeded", processing_type: "batch" });
    expect(record.rows).toMatchObject({ extracted: 2000, valid: 2000, quarantined: 0, written: 2000 });
    const parquet = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
    expect(parquet.path).toMatch(/^raw\/behavioral_events\/behavioral_events_\d{8}_\d{6}\.parquet$/);
    expect(parquet.bytes).toBeGreaterThan(0);
    expect(Object.keys(record.durations_ms)).toEqual(expect.arrayContaining(["extract", "validate", "write"]));

    // The written file holds the rows with lineage and bronze hashes.
    const file = join(dir, "data", parquet.path!);
    const [row] = await query<{ n: bigint; runs: bigint; hashes: bigint; ptype: string }>(
      file,
      "SELECT count(*) n, count(DISTINCT _run_id) runs, count(DISTINCT _composite_hash) hashes, any_value(_processing_type) ptype FROM '$FILE'",
    );
    expect(row).toEqual({ n: 2000n, runs: 1n, hashes: 2000n, ptype: "batch" });
    const latest = join(dir, "data", "raw", "behavioral_events", "behavioral_events_latest.parquet");
    const [l] = await query<{ n: bigint; run: string }>(
      latest,
      "SELECT count(*) n, any_value(_run_id) run FROM '$FILE'",
    );
    expect(l).toEqual({ n: 2000n, run: record.run_id });

    // The warehouse answers through `sluice query`.
    const q = await runCli(
      [
        "query",
        "SELECT count(*) AS n, count(DISTINCT _run_id) AS runs FROM research.behavioral_events",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: 2000, runs: 1 }]);

    const runs = await runCli(["runs", "--json"], { cwd: dir });
    const ledger = JSON.parse(runs.stdout) as RunRecord[];
    expect(ledger.map((x) => x.run_id)).toEqual([record.run_id]);
    const show = await runCli(["runs", "show", record.run_id, "--json"], { cwd: dir });
    expect(JSON.parse(show.stdout)).toMatchObject({ run_id: record.run_id, status: "succeeded" });
  });

  it("an empty source writes an empty Parquet file with the full schema and an empty table", async () => {
    const dir = projectDir(pipeline(0));
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("the source had no rows");
    const files = readdirSync(join(dir, "data", "raw", "behavioral_events")).filter((f) => !f.startsWith("."));
    expect(files).toHaveLength(2);
    const cols = await query<{ column_name: string }>(
      join(dir, "data", "raw", "behavioral_events", "behavioral_events_latest.parquet"),
      "DESCRIBE SELECT * FROM '$FILE'",
    );
    expect(cols.map((c) => c.column_name)).toEqual(
      expect.arrayContaining([
        "id",
        "userId",
        "eventType",
        "timestamp",
        "experimentPhase",
        "_run_id",
        "_composite_hash",
      ]),
    );
    const q = await runCli(["query", "SELECT count(*) AS n FROM research.behavioral_events", "--format", "json"], {
      cwd: dir,
    });
    expect(JSON.parse(q.stdout)).toEqual([{ n: 0 }]);
  });

  it("records row_count_delta against the previous successful run", async () => {
    const dir = projectDir(pipeline(100));
    await runCli(["run"], { cwd: dir });
    const r = await runCli(["run", "--json", "--set", "pipelines.events.source.rows=150"], { cwd: dir });
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.metrics.row_count_delta).toBeCloseTo(0.5);
  });
});
