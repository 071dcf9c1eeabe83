import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery as query } from "./support/duckdb.js";

// A stream with 10 % duplicates (half of them later versions of their record) and 10 % out-of-order
// records, written once by `sluice generate`; the pipelines read the file, the checks are independent
// DuckDB queries over the same file (`rn` = position in the file, i.e. source order).
const ROWS = 20_000;
const LINEAGE = "_run_id, _batch_id, _processing_type, _ingested_at";

const CONFIG = `version: 1
data_dir: ./data
pipelines:
  merge:
    source: { type: file, path: events.parquet }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: updatedAt }
    sinks: [ { type: parquet, path: raw/merge } ]
  eager:
    source: { type: file, path: events.parquet }
    validation: "off"
    dedup: { strategy: eager, key: [id] }
    sinks: [ { type: parquet, path: raw/eager } ]
  bronze:
    source: { type: file, path: events.parquet }
    validation: "off"
    dedup: { strategy: bronze_append, key: [id] }
    sinks: [ { type: parquet, path: raw/bronze } ]
`;

let dir: string;
let input: string;
let first: Record<string, RunRecord>;

async function runAll(): Promise<Record<string, RunRecord>> {
  const r = await runCli(["run", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const records = JSON.parse(r.stdout) as RunRecord[];
  return Object.fromEntries(records.map((x) => [x.pipeline, x]));
}

const latest = (name: string) => `'${join(dir, "data", "raw", name, `${name}_latest.parquet`)}'`;
const numbered = () => `(SELECT *, row_number() OVER () AS rn FROM '${input}')`;

/** Rows of `expected` missing from `actual` plus rows of `actual` not in `expected` (multiset difference). */
async function difference(expected: string, actual: string): Promise<number> {
  const [row] = await query<{ n: bigint }>(
    `SELECT (SELECT count(*) FROM (${expected} EXCEPT ALL ${actual})) + (SELECT count(*) FROM (${actual} EXCEPT ALL ${expected})) AS n`,
  );
  return Number(row!.n);
}

beforeAll(async () => {
  dir = projectDir(CONFIG);
  input = join(dir, "events.parquet");
  const g = await runCli(
    [
      "generate",
      "behavioral_events",
      "--rows",
      String(ROWS),
      "--seed",
      "5",
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
  first = await runAll();
});

describe("dedup on a stream with duplicates and out-of-order records", () => {
  it("the input really has duplicates, later versions, and versions arriving out of order", async () => {
    const [s] = await query<{ dup: bigint; versioned: bigint; outOfOrder: bigint }>(
      `WITH k AS (SELECT id, count(DISTINCT "updatedAt") AS v, arg_max(rn, "updatedAt") AS newest, max(rn) AS last FROM ${numbered()} GROUP BY id)
       SELECT (SELECT count(*) - count(DISTINCT id) FROM '${input}') AS dup,
              count(*) FILTER (WHERE v > 1) AS versioned, count(*) FILTER (WHERE v > 1 AND newest <> last) AS "outOfOrder" FROM k`,
    );
    expect(Number(s!.dup)).toBeGreaterThan(ROWS * 0.05);
    expect(Number(s!.versioned)).toBeGreaterThan(100);
    expect(Number(s!.outOfOrder)).toBeGreaterThan(10);
  });

  it("merge keeps exactly the latest version of each key", async () => {
    const cols = `* EXCLUDE (${LINEAGE})`;
    const expected = `SELECT * EXCLUDE (rn) FROM ${numbered()} QUALIFY row_number() OVER (PARTITION BY id ORDER BY "updatedAt" DESC, rn DESC) = 1`;
    expect(await difference(expected, `SELECT ${cols} FROM ${latest("merge")}`)).toBe(0);
    const [c] = await query<{ n: bigint; ids: bigint }>(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids FROM '${input}'`,
    );
    expect(first.merge!.rows).toMatchObject({
      extracted: ROWS,
      valid: ROWS,
      quarantined: 0,
      duplicates: ROWS - Number(c!.ids),
      duplicates_dropped: ROWS - Number(c!.ids),
      written: Number(c!.ids),
    });
    expect(first.merge!.metrics.duplicate_rate).toBeCloseTo((ROWS - Number(c!.ids)) / ROWS, 10);
  });

  it("eager keeps the first occurrence of each key in source order", async () => {
    const expected = `SELECT * EXCLUDE (rn) FROM ${numbered()} QUALIFY row_number() OVER (PARTITION BY id ORDER BY rn) = 1`;
    expect(await difference(expected, `SELECT * EXCLUDE (${LINEAGE}) FROM ${latest("eager")}`)).toBe(0);
    const [c] = await query<{ ids: bigint }>(`SELECT count(DISTINCT id) AS ids FROM '${input}'`);
    expect(first.eager!.rows).toMatchObject({ duplicates: ROWS - Number(c!.ids), written: Number(c!.ids) });
  });

  it("bronze keeps every row with hashes that identify the duplicates, and marks them", async () => {
    const out = latest("bronze");
    const payload = `* EXCLUDE (${LINEAGE}, _composite_hash, _payload_hash, _duplicate)`;
    expect(await difference(`SELECT * FROM '${input}'`, `SELECT ${payload} FROM ${out}`)).toBe(0);
    const [h] = await query<{
      n: bigint;
      byKey: bigint;
      byPayload: bigint;
      payloads: bigint;
      bad: bigint;
      marked: bigint;
    }>(
      `SELECT count(*) AS n, count(*) - count(DISTINCT _composite_hash) AS "byKey",
              count(*) FILTER (WHERE _duplicate) AS marked,
              count(DISTINCT _payload_hash) AS "byPayload",
              (SELECT count(*) FROM (SELECT DISTINCT ${payload} FROM ${out})) AS payloads,
              count(*) FILTER (WHERE _composite_hash <> sha256(id)) AS bad
       FROM ${out}`,
    );
    expect(Number(h!.n)).toBe(ROWS);
    expect(first.bronze!.rows).toMatchObject({ written: ROWS, duplicates_dropped: 0, duplicates: Number(h!.byKey) });
    // `_duplicate`: every row but the first of its key.
    expect(h!.marked).toBe(h!.byKey);
    // Exact copies share the payload hash; later versions of a record do not.
    expect(h!.byPayload).toBe(h!.payloads);
    expect(Number(h!.bad)).toBe(0);
  });

  it("running the same input again leaves merge and eager targets unchanged", async () => {
    const before = {
      merge: await query(`SELECT * FROM ${latest("merge")} ORDER BY id`),
      eager: await query(`SELECT * FROM ${latest("eager")} ORDER BY id`),
    };
    const again = await runAll();
    for (const name of ["merge", "eager"] as const) {
      expect(again[name]!.rows, name).toMatchObject({
        extracted: ROWS,
        duplicates: ROWS,
        duplicates_dropped: ROWS,
        written: 0,
      });
      // Same rows, same lineage: every row still names the first run.
      expect(await query(`SELECT * FROM ${latest(name)} ORDER BY id`), name).toEqual(before[name]);
      const runs = await query<{ r: string }>(`SELECT DISTINCT _run_id AS r FROM ${latest(name)}`);
      expect(runs, name).toEqual([{ r: first[name]!.run_id }]);
    }
    // bronze: every row of the second run had been seen in the target.
    expect(again.bronze!.rows).toMatchObject({ written: ROWS, duplicates: ROWS, duplicates_dropped: 0 });
  });
});
