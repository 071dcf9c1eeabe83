import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readDeltaSnapshot } from "../src/lake/delta/index.js";
import type { RunRecord } from "../src/plan/run-record.js";
import type { SinkDedup } from "../src/sinks/sink.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery as query } from "./support/duckdb.js";

// S3 "strategies side by side": one pipeline, three sinks, each with its own dedup strategy
// (bronze_append into Delta + a warehouse view over it, merge into a warehouse table, eager into
// Delta), fed twice from one generated stream with 10 % duplicates (half of them later versions) and
// 10 % out-of-order records; the second batch overlaps the first by a third. Checked with a fresh
// DuckDB against the input files (`rn` = position in the stream).
const ROWS = 9_000;
const LINEAGE = "_run_id, _batch_id, _processing_type, _ingested_at";

const CONFIG = `version: 1
data_dir: ./data
pipelines:
  s3:
    source: { type: file, path: input.parquet }
    validation: "off"
    dedup: { strategy: bronze_append, key: [id], order_by: updatedAt }
    sinks:
      - { type: parquet, path: lake/bronze, layout: partitioned, format: delta, time_column: timestamp, partition_by: event_date }
      - { type: duckdb, table: bronze, mode: view }
      - type: duckdb
        table: merged
        mode: table
        dedup: { strategy: merge }
      - type: parquet
        path: lake/eager
        layout: partitioned
        format: delta
        time_column: timestamp
        partition_by: event_date
        dedup: { strategy: eager }
`;

let dir: string;
const part = (name: string) => `'${join(dir, `${name}.parquet`)}'`;
/** Both batches as one stream: run 1's rows (rn 1..6000), then run 2's. */
const stream = () =>
  `(SELECT *, row_number() OVER () AS rn FROM (SELECT * FROM ${part("a")} UNION ALL SELECT * FROM ${part("b")}))`;

async function run(input: "a" | "b"): Promise<RunRecord> {
  copyFileSync(join(dir, `${input}.parquet`), join(dir, "input.parquet"));
  const r = await runCli(["run", "s3", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

async function delta(name: string): Promise<string> {
  const snapshot = await readDeltaSnapshot(join(dir, "data", "lake", name));
  return `read_parquet([${snapshot.files.map((f) => `'${f.path}'`).join(", ")}], hive_partitioning = false)`;
}

const warehouse = () => `'${join(dir, "data", "duckdb", "analytics.duckdb")}'`;

async function fromWarehouse<T>(sql: string): Promise<T[]> {
  return query<T>(`ATTACH ${warehouse()} AS w (READ_ONLY); USE w; ${sql}`);
}

/** Rows of `expected` missing from `actual` plus rows of `actual` not in `expected` (multiset difference). */
async function difference(expected: string, actual: string, attach = false): Promise<number> {
  const sql = `SELECT (SELECT count(*) FROM (${expected} EXCEPT ALL ${actual})) + (SELECT count(*) FROM (${actual} EXCEPT ALL ${expected})) AS n`;
  const [row] = attach ? await fromWarehouse<{ n: bigint }>(sql) : await query<{ n: bigint }>(sql);
  return Number(row!.n);
}

const dedupOf = (r: RunRecord, sink: string): SinkDedup => {
  const out = r.outputs.find((o) => o.sink === sink);
  expect(out?.dedup, sink).toBeDefined();
  return out!.dedup!;
};

let first: RunRecord;
let second: RunRecord;

beforeAll(async () => {
  dir = projectDir(CONFIG, "sluice-per-sink-");
  const g = await runCli(
    [
      "generate",
      "behavioral_events",
      "--rows",
      String(ROWS),
      "--seed",
      "11",
      "--anchor",
      "2025-06-01",
      "--chaos",
      "dup_rate=0.1,out_of_order_rate=0.1",
      "--out",
      "events.parquet",
    ],
    { cwd: dir },
  );
  expect(g.code, g.stderr).toBe(0);
  const events = `(SELECT *, row_number() OVER () AS rn FROM '${join(dir, "events.parquet")}')`;
  await query(
    `COPY (SELECT * EXCLUDE (rn) FROM ${events} WHERE rn <= 6000 ORDER BY rn) TO ${part("a")};
     COPY (SELECT * EXCLUDE (rn) FROM ${events} WHERE rn > 3000 ORDER BY rn) TO ${part("b")}`,
  );
  first = await run("a");
  second = await run("b");
}, 120_000);

describe("per-sink dedup strategies from one generation", () => {
  it("the stream has duplicates within each batch, later versions, and an overlap between the batches", async () => {
    const [s] = await query<{ within: bigint; versions: bigint; overlap: bigint }>(
      `SELECT (SELECT count(*) - count(DISTINCT id) FROM ${part("b")}) AS within,
              (SELECT count(*) FROM (SELECT id FROM ${stream()} GROUP BY id HAVING count(DISTINCT "updatedAt") > 1)) AS versions,
              (SELECT count(DISTINCT id) FROM ${part("b")} WHERE id IN (SELECT id FROM ${part("a")})) AS overlap`,
    );
    expect(Number(s!.within)).toBeGreaterThan(100);
    expect(Number(s!.versions)).toBeGreaterThan(50);
    expect(Number(s!.overlap)).toBeGreaterThan(2000);
  });

  it("each sink gets its own strategy's relation; the record reports each one", () => {
    for (const r of [first, second]) {
      expect(r.status).toBe("succeeded");
      expect(r.outputs.map((o) => [o.sink, o.status, o.dedup?.strategy, o.dedup?.action])).toEqual([
        ["parquet:lake/bronze", "written", "bronze_append", "kept_and_marked"],
        ["duckdb:research.bronze", "written", "bronze_append", "kept_and_marked"],
        ["duckdb:research.merged", "written", "merge", "merged"],
        ["parquet:lake/eager", "written", "eager", "dropped"],
      ]);
    }
  });

  it("merge: each key once, at its latest version across both runs", async () => {
    const expected = `SELECT * EXCLUDE (rn) FROM ${stream()} QUALIFY row_number() OVER (PARTITION BY id ORDER BY "updatedAt" DESC, rn DESC) = 1`;
    expect(await difference(expected, `SELECT * EXCLUDE (${LINEAGE}) FROM research.merged`, true)).toBe(0);
    const [t] = await fromWarehouse<{ n: bigint; ids: bigint }>(
      "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM research.merged",
    );
    expect(t!.n).toBe(t!.ids);
  });

  it("eager: each key once, at its first occurrence across both runs", async () => {
    const expected = `SELECT * EXCLUDE (rn) FROM ${stream()} QUALIFY row_number() OVER (PARTITION BY id ORDER BY rn) = 1`;
    const eager = await delta("eager");
    expect(await difference(expected, `SELECT * EXCLUDE (${LINEAGE}) FROM ${eager}`)).toBe(0);
  });

  it("bronze: every row of the batch with its hashes and a duplicate mark (earlier in the batch, or in the table)", async () => {
    // A file source is the whole dataset at each run (a replace): the table holds run 2's rows, and
    // a row is a duplicate when its key came earlier in run 2 or was in the table run 1 left.
    const b = `(SELECT *, row_number() OVER () AS rn FROM ${part("b")})`;
    const expected = `SELECT x.* EXCLUDE (rn), (row_number() OVER (PARTITION BY x.id ORDER BY x.rn) > 1 OR x.id IN (SELECT id FROM ${part("a")})) AS _duplicate FROM ${b} AS x`;
    const bronze = await delta("bronze");
    const actual = `SELECT * EXCLUDE (${LINEAGE}, _composite_hash, _payload_hash) FROM ${bronze}`;
    expect(await difference(expected, actual)).toBe(0);
    const [h] = await query<{ bad: bigint }>(
      `SELECT count(*) FILTER (WHERE _composite_hash <> sha256(id)) AS bad FROM ${bronze}`,
    );
    expect(Number(h!.bad)).toBe(0);
    // The warehouse view reads the same version.
    const [v] = await fromWarehouse<{ n: bigint; d: bigint }>(
      "SELECT count(*) AS n, count(*) FILTER (WHERE _duplicate) AS d FROM research.bronze",
    );
    expect(Number(v!.n)).toBe(6000);
    expect(Number(v!.d)).toBe(dedupOf(second, "duckdb:research.bronze").marked);
  });

  it("the record's per-sink counts match what the tables show", async () => {
    const [c] = await query<{ a: bigint; aIds: bigint; bIds: bigint; bNew: bigint; bHeld: bigint }>(
      `SELECT (SELECT count(*) FROM ${part("a")}) AS a,
              (SELECT count(DISTINCT id) FROM ${part("a")}) AS "aIds",
              (SELECT count(DISTINCT id) FROM ${part("b")}) AS "bIds",
              (SELECT count(DISTINCT id) FROM ${part("b")} WHERE id NOT IN (SELECT id FROM ${part("a")})) AS "bNew",
              (SELECT count(*) FROM ${part("b")} WHERE id IN (SELECT id FROM ${part("a")})) AS "bHeld"`,
    );
    const [aIds, bIds, bNew, bHeld] = [c!.aIds, c!.bIds, c!.bNew, c!.bHeld].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const within1 = 6000 - aIds;
    const within2 = 6000 - bIds;

    // Run 1: nothing in the tables yet; every duplicate is within the batch.
    for (const sink of ["parquet:lake/bronze", "duckdb:research.merged", "parquet:lake/eager"]) {
      expect(dedupOf(first, sink), sink).toMatchObject({
        duplicates_seen: within1,
        within_batch: within1,
        against_table: 0,
      });
    }
    expect(dedupOf(first, "parquet:lake/bronze")).toMatchObject({ dropped: 0, marked: within1, written: 6000 });
    expect(dedupOf(first, "duckdb:research.merged")).toMatchObject({ dropped: within1, merged: 0, written: aIds });
    expect(dedupOf(first, "parquet:lake/eager")).toMatchObject({ dropped: within1, written: aIds });

    // Run 2: bronze marks the later rows of a key and every row of a key the table held.
    const bronze = dedupOf(second, "parquet:lake/bronze");
    const [marks] = await query<{ d: bigint }>(
      `SELECT count(*) FILTER (WHERE _duplicate) AS d FROM ${await delta("bronze")}`,
    );
    expect(bronze).toMatchObject({
      duplicates_seen: Number(marks!.d),
      marked: Number(marks!.d),
      dropped: 0,
      written: 6000,
    });
    expect(bronze.within_batch).toBe(within2);

    // eager drops every duplicate: the table grew by the keys it did not hold.
    const eager = dedupOf(second, "parquet:lake/eager");
    const [e] = await query<{ n: bigint }>(`SELECT count(*) AS n FROM ${await delta("eager")}`);
    expect(Number(e!.n)).toBe(aIds + bNew);
    expect(eager).toMatchObject({
      written: bNew,
      dropped: 6000 - bNew,
      duplicates_seen: 6000 - bNew,
      within_batch: within2,
    });
    expect(eager.against_table).toBe(6000 - bNew - within2);

    // merge: the duplicates it saw are dropped or merged (a newer version replaced the table's row).
    const merge = dedupOf(second, "duckdb:research.merged");
    expect(merge.duplicates_seen).toBe(eager.duplicates_seen);
    expect(merge.within_batch).toBe(within2);
    expect(merge.written).toBe(bNew + merge.merged!);
    expect(merge.dropped + merge.written).toBe(6000);
    const [m] = await fromWarehouse<{ n: bigint; again: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE _run_id = '${second.run_id}' AND id IN (SELECT id FROM ${part("a")})) AS again FROM research.merged`,
    );
    expect(Number(m!.n)).toBe(aIds + bNew);
    expect(Number(m!.again)).toBe(merge.merged);
    expect(bHeld).toBeGreaterThan(0);

    // The top-level counts are the first sink's (bronze).
    expect(second.rows).toMatchObject({ duplicates: bronze.duplicates_seen, duplicates_dropped: 0, written: 6000 });
  });

  it("a strategy that cannot work is a config error at its place in the file", async () => {
    // The pipeline's dedup gives no order_by for the merge sink to inherit.
    const d = projectDir(CONFIG.replace("key: [id], order_by: updatedAt", "key: [id]"), "sluice-per-sink-bad-");
    const r = await runCli(["run", "s3"], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sluice\.yaml:\d+:\d+.*dedup strategy `merge` needs `order_by/);
    const view = projectDir(
      CONFIG.replace(
        "{ type: duckdb, table: bronze, mode: view }",
        "{ type: duckdb, table: bronze, mode: view, dedup: { strategy: eager } }",
      ),
      "sluice-per-sink-bad-",
    );
    const v = await runCli(["run", "s3"], { cwd: view });
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/sluice\.yaml:\d+:\d+.*a duckdb view reads the files of sinks\[0\]/);
  });
});
