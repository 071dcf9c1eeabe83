import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { skipMessage } from "./support/server-process.js";
import { streamFixture } from "./support/stream-broker.js";

// Type drift between batches of a pipeline without a contract: a field null in every record of
// the first batch must not fix the warehouse column's type, and a later batch whose column is
// wider (BIGINT -> DOUBLE) widens the table instead of being skipped forever.

const yaml = (sinks: string) => `version: 1
data_dir: ./data
pipelines:
  cards:
    source: { type: file, path: in/cards.jsonl }
    validation: "off"
    dedup: { strategy: eager, key: [id] }
    sinks:
${sinks}
`;

const DUCKDB_SINK = "      - { type: duckdb, schema: s, table: cards, mode: table, on_error: warn, indexes: [[id]] }";
const DELTA_SINK =
  "      - { type: parquet, path: lake/cards, layout: partitioned, format: delta, partition_by: [kind] }";

function lines(records: readonly object[]): string {
  return `${records.map((r) => JSON.stringify(r)).join("\n")}\n`;
}

async function run(dir: string, records: readonly object[]): Promise<RunRecord> {
  writeFileSync(join(dir, "in", "cards.jsonl"), lines(records));
  const r = await runCli(["run", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

function project(sinks: string): string {
  const dir = projectDir(yaml(sinks));
  mkdirSync(join(dir, "in"));
  return dir;
}

async function warehouse<T>(dir: string, sql: string): Promise<T[]> {
  const file = join(dir, "data", "duckdb", "analytics.duckdb");
  return duckQuery<T>(`ATTACH '${file}' AS w (READ_ONLY); ${sql}`);
}

async function columnTypes(dir: string): Promise<Record<string, string>> {
  const rows = await warehouse<{ column_name: string; data_type: string }>(
    dir,
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = 'w' AND table_name = 'cards'",
  );
  return Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
}

describe("type drift between batches (no contract)", () => {
  it("a field null in every record of the first batch takes the strings of the next one", async () => {
    const dir = project(DUCKDB_SINK);
    const first = await run(dir, [
      { id: 1, cardId: null },
      { id: 2, cardId: null },
    ]);
    expect(first.outputs.map((o) => o.status)).toEqual(["written"]);

    const second = await run(dir, [
      { id: 3, cardId: "c-3" },
      { id: 4, cardId: "c-4" },
    ]);
    expect(second.outputs.map((o) => [o.status, o.warning])).toEqual([["written", undefined]]);
    const rows = await warehouse<{ id: bigint; cardId: string | null }>(
      dir,
      "SELECT id, cardId FROM w.s.cards ORDER BY id",
    );
    expect(rows).toEqual([
      { id: 1n, cardId: null },
      { id: 2n, cardId: null },
      { id: 3n, cardId: "c-3" },
      { id: 4n, cardId: "c-4" },
    ]);
    expect((await columnTypes(dir)).cardId).toBe("VARCHAR");
  });

  it("a batch of all-null values goes into a typed column, and BIGINT widens to DOUBLE with the index kept", async () => {
    const dir = project(DUCKDB_SINK);
    await run(dir, [{ id: 1, cardId: "c-1", amount: 5 }]);
    expect(await columnTypes(dir)).toMatchObject({ cardId: "VARCHAR", amount: "BIGINT" });
    const nulls = await run(dir, [{ id: 2, cardId: null, amount: null }]);
    expect(nulls.outputs.map((o) => o.status)).toEqual(["written"]);
    const wider = await run(dir, [{ id: 3, cardId: "c-3", amount: 5.5 }]);
    expect(wider.outputs.map((o) => [o.status, o.warning])).toEqual([["written", undefined]]);
    expect(await columnTypes(dir)).toMatchObject({ cardId: "VARCHAR", amount: "DOUBLE" });
    const rows = await warehouse<{ id: bigint; amount: number | null }>(
      dir,
      "SELECT id, amount FROM w.s.cards ORDER BY id",
    );
    expect(rows).toEqual([
      { id: 1n, amount: 5 },
      { id: 2n, amount: null },
      { id: 3n, amount: 5.5 },
    ]);
    const indexes = await warehouse<{ index_name: string }>(
      dir,
      "SELECT index_name FROM duckdb_indexes() WHERE database_name = 'w' AND table_name = 'cards'",
    );
    expect(indexes.map((i) => i.index_name)).toEqual(["idx_cards_id"]);
  });

  it("Delta: an all-null first batch, then strings; a lossy cast to the table's type is refused naming the column", async () => {
    const dir = project(DELTA_SINK);
    await run(dir, [{ id: 1, kind: "a", cardId: null, amount: 5 }]);
    const second = await run(dir, [{ id: 2, kind: "a", cardId: "c-2", amount: 6 }]);
    expect(second.outputs.map((o) => o.status)).toEqual(["written"]);
    const rows = await duckQuery<{ id: bigint; cardId: string | null }>(
      `SELECT id, cardId FROM read_parquet('${join(dir, "data", "lake", "cards")}/**/*.parquet', union_by_name = true) ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 1n, cardId: null },
      { id: 2n, cardId: "c-2" },
    ]);

    writeFileSync(join(dir, "in", "cards.jsonl"), lines([{ id: 3, kind: "a", cardId: "c-3", amount: 6.5 }]));
    const lossy = await runCli(["run"], { cwd: dir });
    expect(lossy.code).not.toBe(0);
    expect(`${lossy.stdout}${lossy.stderr}`).toMatch(/amount/);
    expect(`${lossy.stdout}${lossy.stderr}`).toMatch(/DOUBLE/);
    expect(`${lossy.stdout}${lossy.stderr}`).toMatch(/long/);
  });
});

describe("type drift in a stream (no contract)", () => {
  it("a first micro-batch with a field null everywhere does not block the next ones (redis)", async (t) => {
    const fx = await streamFixture("redis");
    if (!fx) {
      console.warn(skipMessage("redis"));
      return t.skip();
    }
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  cards:
    source: ${fx.source(", max_rows: 3, max_wait_ms: 100")}
    validation: "off"
    sinks:
      - { type: duckdb, schema: s, table: cards, mode: table, on_error: warn }
`);
    const child = spawn(process.execPath, [CLI, "stream", "cards"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr!.on("data", (d: Buffer) => {
      log += d.toString();
    });
    try {
      await fx.publish([1, 2, 3].map((id) => JSON.stringify({ id, cardId: null })));
      await landed(dir, 3, () => log);
      await fx.publish([4, 5, 6].map((id) => JSON.stringify({ id, cardId: `c-${id}` })));
      await landed(dir, 6, () => log);
    } finally {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
      await fx.close();
    }
    const rows = await warehouse<{ n: bigint; cards: bigint }>(
      dir,
      "SELECT count(*) AS n, count(cardId) AS cards FROM w.s.cards",
    );
    expect(rows).toEqual([{ n: 6n, cards: 3n }]);
    expect((await columnTypes(dir)).cardId).toBe("VARCHAR");
  });
});

/** Waits (20 s at most) until the warehouse table holds `rows` rows. */
async function landed(dir: string, rows: number, log: () => string): Promise<void> {
  let seen: unknown;
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await warehouse<{ n: bigint }>(dir, "SELECT count(*) AS n FROM w.s.cards").catch((e: unknown) => String(e));
    if (Array.isArray(seen) && Number(seen[0]?.n) === rows) return;
  }
  throw new Error(
    `the warehouse holds ${JSON.stringify(seen, (_, v) => (typeof v === "bigint" ? Number(v) : v))}, not ${rows} rows; worker log:\n${log()}`,
  );
}
