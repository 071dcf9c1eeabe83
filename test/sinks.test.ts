import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";

/** A config with one generate pipeline `events` and the given sinks (YAML list items, indented by 6). */
function config(rows: number, sinks: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: ${rows}, seed: 7 }
    validation: "off"
    sinks:
${sinks}`;
}

/** Runs SQL in a fresh in-memory DuckDB (or read-only on `file`), as a user opening the outputs would. */
async function duck<T = Record<string, unknown>>(sql: string, file = ":memory:"): Promise<T[]> {
  const db = await DuckDBInstance.create(file, file === ":memory:" ? {} : { access_mode: "READ_ONLY" });
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function run(dir: string, ...args: string[]): Promise<RunRecord> {
  const r = await runCli(["run", "--json", ...args], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

const visible = (dir: string) =>
  readdirSync(dir)
    .filter((f) => !f.startsWith("."))
    .sort();

describe("parquet sink, snapshot layout, and a duckdb view over it", () => {
  it("writes a timestamped snapshot and latest; latest is the newest snapshot; the view reads through latest", async () => {
    const dir = projectDir(
      config(
        500,
        `      - { type: parquet, path: raw/behavioral_events }
      - { type: duckdb, schema: research, table: behavioral_events, mode: view }
`,
      ),
    );
    const raw = join(dir, "data", "raw", "behavioral_events");
    const latest = join(raw, "behavioral_events_latest.parquet");

    const first = await run(dir);
    const out1 = first.outputs[0]!;
    expect(out1).toMatchObject({ sink: "parquet:raw/behavioral_events", rows: 500, status: "written" });
    expect(out1.path).toMatch(/^raw\/behavioral_events\/behavioral_events_\d{8}_\d{6}\.parquet$/);
    expect(out1.files).toEqual([latest]);
    expect(first.outputs[1]).toMatchObject({ sink: "duckdb:research.behavioral_events", status: "written" });
    expect(visible(raw)).toEqual([out1.path!.split("/").pop(), "behavioral_events_latest.parquet"].sort());

    const second = await run(dir, "--set", "pipelines.events.source.rows=800");
    const out2 = second.outputs[0]!;
    expect(out2.path).not.toBe(out1.path);
    expect(visible(raw)).toHaveLength(3);

    const snap1 = join(dir, "data", out1.path!);
    const snap2 = join(dir, "data", out2.path!);
    const [counts] = await duck<{ old: bigint; newest: bigint; latest: bigint; diff: bigint }>(
      `SELECT (SELECT count(*) FROM '${snap1}') AS old, (SELECT count(*) FROM '${snap2}') AS newest,
              (SELECT count(*) FROM '${latest}') AS latest,
              (SELECT count(*) FROM (FROM '${latest}' EXCEPT ALL FROM '${snap2}')) AS diff`,
    );
    expect(counts).toEqual({ old: 500n, newest: 800n, latest: 800n, diff: 0n });
    const [run2] = await duck<{ r: string }>(`SELECT any_value(_run_id) AS r FROM '${latest}'`);
    expect(run2?.r).toBe(second.run_id);

    // The view was defined once over latest and shows the second run's rows.
    const q = await runCli(
      ["query", "SELECT count(*) AS n, any_value(_run_id) AS run FROM research.behavioral_events", "--format", "json"],
      { cwd: dir },
    );
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: 800, run: second.run_id }]);
    const [view] = await duck<{ sql: string }>(
      "SELECT sql FROM duckdb_views() WHERE view_name = 'behavioral_events'",
      join(dir, "data", "duckdb", "analytics.duckdb"),
    );
    expect(view?.sql).toContain("behavioral_events_latest.parquet");
  });

  it("an empty source gives an empty Parquet file with the full schema and an empty table", async () => {
    const dir = projectDir(
      config(
        0,
        `      - { type: parquet, path: raw/behavioral_events }
      - { type: duckdb, schema: research, table: behavioral_events, mode: table, order_by: timestamp, indexes: [[userId]] }
`,
      ),
    );
    const record = await run(dir);
    expect(record.outputs.map((o) => [o.sink, o.rows, o.status])).toEqual([
      ["parquet:raw/behavioral_events", 0, "written"],
      ["duckdb:research.behavioral_events", 0, "written"],
    ]);
    const latest = join(dir, "data", "raw", "behavioral_events", "behavioral_events_latest.parquet");
    const fileCols = await duck<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM '${latest}'`);
    const tableCols = await duck<{ column_name: string; column_type: string }>(
      "DESCRIBE research.behavioral_events",
      join(dir, "data", "duckdb", "analytics.duckdb"),
    );
    const shape = (cols: { column_name: string; column_type: string }[]) =>
      cols.map((c) => `${c.column_name} ${c.column_type}`);
    expect(shape(fileCols)).toEqual(expect.arrayContaining(["id VARCHAR", "timestamp TIMESTAMP WITH TIME ZONE"]));
    expect(fileCols.length).toBeGreaterThanOrEqual(15);
    expect(shape(tableCols)).toEqual(shape(fileCols));
    const [n] = await duck<{ file: bigint; table: bigint }>(
      `SELECT (SELECT count(*) FROM '${latest}') AS file, (SELECT count(*) FROM research.behavioral_events) AS "table"`,
      join(dir, "data", "duckdb", "analytics.duckdb"),
    );
    expect(n).toEqual({ file: 0n, table: 0n });
  });

  it("view mode without a parquet sink before it is a config error", async () => {
    const dir = projectDir(
      config(10, "      - { type: duckdb, schema: research, table: behavioral_events, mode: view }\n"),
    );
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/parquet sink before it/);
    expect(r.stderr).toMatch(/mode: table/);
  });
});

describe("parquet sink, partitioned layout", () => {
  it("writes event_date=YYYY-MM-DD folders readable with hive_partitioning; a rerun replaces the dataset", async () => {
    const dir = projectDir(
      config(
        3000,
        `      - { type: parquet, path: lake/behavioral_events, layout: partitioned }
      - { type: duckdb, schema: lake, table: behavioral_events, mode: view }
`,
      ),
    );
    const root = join(dir, "data", "lake", "behavioral_events");
    const first = await run(dir);
    expect(first.outputs[0]).toMatchObject({ path: "lake/behavioral_events", rows: 3000, status: "written" });
    const folders = visible(root);
    expect(folders.length).toBeGreaterThan(30);
    for (const f of folders) expect(f).toMatch(/^event_date=\d{4}-\d{2}-\d{2}$/);
    for (const f of folders) expect(visible(join(root, f))[0]).toMatch(/^part-.+-\d+\.parquet$/);

    const glob = `${root}/**/*.parquet`;
    const check = async () =>
      (
        await duck<{ n: bigint; days: bigint; t: string; wrong: bigint }>(
          `SELECT count(*) AS n, count(DISTINCT event_date) AS days, any_value(typeof(event_date)) AS t,
                count(*) FILTER (WHERE event_date <> CAST(timezone('UTC', "timestamp") AS DATE)) AS wrong
         FROM read_parquet('${glob}', hive_partitioning = true)`,
        )
      )[0];
    expect(await check()).toEqual({ n: 3000n, days: BigInt(folders.length), t: "DATE", wrong: 0n });

    // generate is a full extract: the second run's batch is the whole dataset.
    await run(dir, "--set", "pipelines.events.source.rows=1000");
    expect((await check())?.n).toBe(1000n);
    const q = await runCli(
      [
        "query",
        "SELECT count(*) AS n, any_value(typeof(event_date)) AS t FROM lake.behavioral_events",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(JSON.parse(q.stdout)).toEqual([{ n: 1000, t: "DATE" }]);
  });
});

describe("parquet sink compression", () => {
  it("writes the configured codec and row group size", async () => {
    const codecs = { snappy: "SNAPPY", zstd: "ZSTD", gzip: "GZIP", none: "UNCOMPRESSED" };
    const sinks = Object.keys(codecs)
      .map(
        (c) => `      - { type: parquet, path: raw/${c}, dataset: events, compression: ${c}, row_group_size: 2048 }\n`,
      )
      .join("");
    const dir = projectDir(config(10_000, sinks));
    const record = await run(dir);
    for (const [codec, expected] of Object.entries(codecs)) {
      const out = record.outputs.find((o) => o.sink === `parquet:raw/${codec}`)!;
      const file = join(dir, "data", out.path!);
      const [meta] = await duck<{ codecs: string[]; groups: bigint }>(
        `SELECT list(DISTINCT compression) AS codecs, count(DISTINCT row_group_id) AS groups FROM parquet_metadata('${file}')`,
      );
      // DuckDB fills row groups in whole vectors of 2048 rows: 10,000 rows make 5 groups.
      expect(meta, codec).toEqual({ codecs: [expected], groups: 5n });
    }
  });
});

describe("duckdb sink, table mode", () => {
  it("creates the table ordered by order_by with one index per `indexes` entry", async () => {
    const dir = projectDir(
      config(
        3000,
        `      - type: duckdb
        schema: research
        table: behavioral_events
        mode: table
        order_by: timestamp
        indexes: [[userId, timestamp], [eventType], [experimentPhase]]
`,
      ),
    );
    const record = await run(dir);
    expect(record.outputs).toEqual([
      { sink: "duckdb:research.behavioral_events", table: "research.behavioral_events", rows: 3000, status: "written" },
    ]);
    const wh = join(dir, "data", "duckdb", "analytics.duckdb");
    const indexes = await duck<{ index_name: string; sql: string }>(
      "SELECT index_name, sql FROM duckdb_indexes() WHERE schema_name = 'research' ORDER BY index_name",
      wh,
    );
    expect(indexes.map((i) => i.index_name)).toEqual([
      "idx_behavioral_events_eventType",
      "idx_behavioral_events_experimentPhase",
      "idx_behavioral_events_userId_timestamp",
    ]);
    expect(indexes[2]?.sql).toMatch(/ON research\.behavioral_events\(userId, "timestamp"\)/);
    const [order] = await duck<{ n: bigint; backwards: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE prev > "timestamp") AS backwards
       FROM (SELECT "timestamp", lag("timestamp") OVER (ORDER BY rowid) AS prev FROM research.behavioral_events)`,
      wh,
    );
    expect(order).toEqual({ n: 3000n, backwards: 0n });
  });
});
