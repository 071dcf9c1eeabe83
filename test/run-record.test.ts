import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";

async function runJson(dir: string, ...args: string[]): Promise<{ code: number | null; record: RunRecord }> {
  const r = await runCli(["run", "--json", ...args], { cwd: dir });
  expect(r.stdout, r.stderr).not.toBe("");
  return { code: r.code, record: JSON.parse(r.stdout) as RunRecord };
}

const base: [string, number, string][] = Array.from({ length: 20 }, (_, i) => [`k${i}`, i, "2026-01-01T00:00:00Z"]);

const lines = (rows: [string, number, string][]) =>
  `${rows.map(([id, v, at]) => JSON.stringify({ id, v, updated: at })).join("\n")}\n`;

describe("the run record tells what the batch did, apart from the dataset's size", () => {
  const merge = `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: updated }
    sinks:
      - { type: parquet, path: raw/events }
    alerts:
      - { metric: row_count_delta, above: 0.5 }
`;

  it("an unchanged rerun writes nothing, keeps the dataset, fires no row_count_delta alert", async () => {
    const dir = projectDir(merge);
    writeFileSync(join(dir, "events.jsonl"), lines(base));
    const first = await runJson(dir);
    expect(first.code).toBe(0);
    expect(first.record.rows).toMatchObject({ written: 20, dataset: 20 });

    const again = await runJson(dir);
    expect(again.code).toBe(0);
    expect(again.record.rows).toMatchObject({
      written: 0,
      dataset: 20,
      keys: { new: 0, changed: 0, unchanged: 20 },
    });
    expect(again.record.metrics.row_count_delta).toBe(0);
    expect(again.record.alerts).toEqual([]);
    const listed = (await runCli(["runs", "events"], { cwd: dir })).stdout.trim().split("\n");
    expect(listed.at(-1)).toMatch(new RegExp(`^${again.record.run_id}\\s+events\\s+succeeded\\s+0\\s+20\\s`));

    // One key changed, one new: the record says so, and the dataset grew by one.
    const next = [...base.slice(1), ["k0", 100, "2026-01-02T00:00:00Z"], ["k99", 1, "2026-01-02T00:00:00Z"]] as [
      string,
      number,
      string,
    ][];
    writeFileSync(join(dir, "events.jsonl"), lines(next));
    const third = await runJson(dir);
    expect(third.record.rows).toMatchObject({ written: 2, dataset: 21, keys: { new: 1, changed: 1, unchanged: 19 } });
    expect(third.record.metrics.row_count_delta).toBeCloseTo(1 / 20);

    const summary = await runCli(["runs", "show", third.record.run_id], { cwd: dir });
    expect(summary.stdout).toContain("keys: 1 new, 1 changed, 19 unchanged");
    expect(summary.stdout).toContain("dataset: 21 rows after this run");
  });

  it("a strict failure's record counts the rows that passed and says nothing was written", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract: { columns: { id: { type: string, required: true }, v: { type: integer, min: 0 }, updated: { type: timestamp } } }
    validation: strict
    sinks:
      - { type: parquet, path: raw/events }
`);
    writeFileSync(join(dir, "events.jsonl"), lines([...base, ["bad", -1, "2026-01-01T00:00:00Z"]]));
    const r = await runJson(dir);
    expect(r.code).toBe(3);
    expect(r.record.status).toBe("validation_failed");
    expect(r.record.rows).toMatchObject({ extracted: 21, valid: 20, written: 0 });
    expect(r.record.outputs).toEqual([]);
  });
});

describe("a run record that cannot be written", () => {
  it("says where, fails the run, and the state does not move", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/events }
`);
    writeFileSync(join(dir, "events.jsonl"), lines(base));
    // Where the ledger's folder would be, a file of the user's: the record cannot be saved.
    mkdirSync(join(dir, "data", "runs"), { recursive: true });
    writeFileSync(join(dir, "data", "runs", "events"), "not a folder\n");
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not write the run record to \S*data\/runs\/events\/\d{8}T\d{6}Z_[0-9a-f]+\.json/);
    expect(r.stdout).toMatch(/events: failed/);
    expect(readFileSync(join(dir, "data", "runs", "events"), "utf8")).toBe("not a folder\n");
  });
});

describe("a window or full export replaces the dataset (merge within the batch only)", () => {
  let pg: TestPostgres;
  let a: TestSchema;
  let b: TestSchema;
  beforeAll(async () => {
    pg = await testPostgres();
    a = await testSchema(pg.url, "record_a");
    b = await testSchema(pg.url, "record_b");
    for (const [schema, ids] of [
      [a, ["x1", "x2", "x3", "shared"]],
      [b, ["y1", "shared"]],
    ] as const) {
      await sql(pg.url, `CREATE TABLE "${schema.name}".events (id text PRIMARY KEY, updated timestamptz NOT NULL)`);
      for (const id of ids) await sql(pg.url, `INSERT INTO "${schema.name}".events VALUES ($1, '2026-01-01')`, [id]);
    }
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
    await pg?.stop();
  });

  it("a run against a second database holds that database's rows, not both", async () => {
    const yaml = (url: string) => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: postgres, url: "${url}", table: events, mode: full }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: updated }
    sinks:
      - { type: parquet, path: raw/events }
`;
    const dir = projectDir(yaml(a.url));
    expect((await runJson(dir)).record.rows).toMatchObject({ written: 4, dataset: 4 });
    writeFileSync(join(dir, "sluice.yaml"), yaml(b.url));
    const second = await runJson(dir);
    expect(second.code).toBe(0);
    expect(second.record.rows).toMatchObject({ extracted: 2, written: 2, dataset: 2 });
    const latest = join(dir, "data", "raw", "events", "events_latest.parquet");
    const ids = await duckQuery<{ id: string }>(`SELECT id FROM '${latest}' ORDER BY id`);
    expect(ids.map((r) => r.id)).toEqual(["shared", "y1"]);
  });
});
