import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { testRunContext } from "../../../test/support/run-context.js";
import { duckdbSinkSpec } from "../../config/spec.js";
import { Engine } from "../../engine/engine.js";
import { ConfigError, SluiceError } from "../../errors.js";
import type { RunContext } from "../../plan/batch-context.js";
import { DuckdbSink } from "./duckdb-sink.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

async function context(): Promise<RunContext> {
  const engine = await Engine.open();
  engines.push(engine);
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-duckdb-"));
  return testRunContext(engine, {
    runId: "20260301T020000Z_aaaaaa",
    batchId: "20260301T020000Z_aaaaaa-b1",
    pipeline: "events",
    dataDir,
    warehousePath: join(dataDir, "duckdb", "analytics.duckdb"),
    startedAt: new Date("2026-03-01T02:00:00Z"),
  });
}

const sink = (config: Record<string, unknown>) =>
  new DuckdbSink(duckdbSinkSpec.parse({ type: "duckdb", table: "events", mode: "table", ...config }));

/** Reads the warehouse file the way a user would, in a separate DuckDB instance. */
async function warehouse<T>(file: string, sql: string): Promise<T[]> {
  const db = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

const ROWS = (n: number, offset = 0) =>
  `SELECT range + ${offset} AS id, 'u' || (range % 3) AS "userId", [range] AS tags FROM range(${n})`;

describe("DuckdbSink, table mode", () => {
  it("a sync that fails half-way leaves the previous table and its indexes as they were", async () => {
    const ctx = await context();
    await ctx.engine.run(`CREATE TABLE b1 AS ${ROWS(5)}`);
    await ctx.engine.run(`CREATE TABLE b2 AS ${ROWS(2, 100)}`);
    const good = sink({ indexes: [["userId"]] });
    expect(await good.write(ctx, "b1", { extent: "replace", batchId: "b1" }, [])).toMatchObject({
      status: "written",
      rows: 5,
    });

    // The table is rebuilt, then the index on a LIST column fails: the transaction rolls back.
    const bad = sink({ indexes: [["userId"], ["tags"]] });
    const out = await bad.write(ctx, "b2", { extent: "replace", batchId: "b2" }, []);
    expect(out).toMatchObject({ status: "skipped", rows: 0, table: "research.events" });
    expect(out.warning).toMatch(
      /Invalid type for index key.*keeps its previous contents and the next run will sync it/,
    );

    const rows = await warehouse<{ n: bigint; min: bigint }>(
      ctx.warehousePath,
      "SELECT count(*) n, min(id) min FROM research.events",
    );
    expect(rows).toEqual([{ n: 5n, min: 0n }]);
    const indexes = await warehouse<{ index_name: string }>(
      ctx.warehousePath,
      "SELECT index_name FROM duckdb_indexes()",
    );
    expect(indexes).toEqual([{ index_name: "idx_events_userId" }]);
    // The warehouse was detached: the engine holds no lock on it.
    expect(await ctx.engine.all("SELECT database_name FROM duckdb_databases() WHERE NOT internal")).toEqual([
      { database_name: "memory" },
    ]);
  });

  it("on_error fail throws a SluiceError with a hint instead of skipping", async () => {
    const ctx = await context();
    await ctx.engine.run(`CREATE TABLE b AS ${ROWS(2)}`);
    const err = await sink({ indexes: [["tags"]], on_error: "fail" })
      .write(ctx, "b", { extent: "replace", batchId: "b" }, [])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).message).toMatch(/could not sync research\.events/);
    expect((err as SluiceError).hint).toBeTruthy();
  });

  it("append creates the table on first use, then inserts, adding new columns", async () => {
    const ctx = await context();
    await ctx.engine.run(`CREATE TABLE b1 AS ${ROWS(3)}`);
    await ctx.engine.run(`CREATE TABLE b2 AS SELECT *, 'x' AS extra FROM (${ROWS(2, 10)})`);
    const s = sink({ order_by: "id desc", indexes: [["userId"]] });
    expect(await s.existing(ctx)).toBeUndefined();
    await s.write(ctx, "b1", { extent: "append", batchId: "b1" }, []);
    await s.write(ctx, "b2", { extent: "append", batchId: "b2" }, []);
    const existing = (await s.existing(ctx))!;
    const rows = await ctx.engine.all<{ id: bigint; extra: string | null }>(
      `SELECT id, extra FROM ${existing} ORDER BY rowid`,
    );
    expect(rows.map((r) => [r.id, r.extra])).toEqual([
      [2n, null],
      [1n, null],
      [0n, null],
      [11n, "x"],
      [10n, "x"],
    ]);
  });

  it("order_by and index columns that are not in the batch are config errors", async () => {
    const ctx = await context();
    await ctx.engine.run(`CREATE TABLE b AS ${ROWS(1)}`);
    const err = await sink({ order_by: "userid" })
      .write(ctx, "b", { extent: "replace", batchId: "b" }, [])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).hint).toBe("did you mean `userId`?");
  });
});

describe("DuckdbSink, view mode", () => {
  it("needs a parquet sink before it", async () => {
    const ctx = await context();
    await ctx.engine.run(`CREATE TABLE b AS ${ROWS(1)}`);
    const err = await sink({ mode: "view" })
      .write(ctx, "b", { extent: "replace", batchId: "b" }, [])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/mode `view` needs a parquet sink/);
  });
});
