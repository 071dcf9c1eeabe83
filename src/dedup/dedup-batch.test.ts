import { afterEach, describe, expect, it } from "vitest";
import { testRunContext } from "../../test/support/run-context.js";
import { type DedupConfig, pipelineSpec } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { ConfigError } from "../errors.js";
import type { RunContext } from "../plan/batch-context.js";
import { dedupBatch } from "./dedup-batch.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

async function context(dedup: Partial<DedupConfig>): Promise<RunContext> {
  const engine = await Engine.open();
  engines.push(engine);
  return testRunContext(engine, {
    runId: "r2",
    batchId: "r2-b1",
    pipeline: "events",
    pipelineConfig: pipelineSpec.parse({
      source: { type: "generate", dataset: "pubsub" },
      sinks: [{ type: "parquet", path: "lake/x" }],
      dedup,
    }),
    startedAt: new Date("2026-01-01T00:00:00Z"),
  });
}

/** Batch rows (id, v, ts) in source order, as the contract stage hands them on. */
async function batch(ctx: RunContext, rows: [string | null, string, number][]): Promise<string> {
  const values = rows.map(
    ([id, v, ts], i) => `(${id === null ? "NULL" : `'${id}'`}, '${v}', ${ts}, 'b:${i + 1}', ${i})`,
  );
  await ctx.engine.run(
    `CREATE TABLE batch AS SELECT id, v, ts::BIGINT AS ts, _source_pos, _source_row::BIGINT AS _source_row FROM (VALUES ${values.join(", ")}) t(id, v, ts, _source_pos, _source_row)`,
  );
  return "batch";
}

/** Rows a previous run wrote: with lineage, `ts` stored as INTEGER (cast to the batch's BIGINT on the way in). */
async function target(ctx: RunContext, rows: [string, string, number][]): Promise<string> {
  const values = rows.map(([id, v, ts]) => `('${id}', '${v}', ${ts}, 'r1')`);
  await ctx.engine.run(
    `CREATE TABLE target AS SELECT id, v, ts::INTEGER AS ts, _run_id FROM (VALUES ${values.join(", ")}) t(id, v, ts, _run_id)`,
  );
  return "target";
}

async function rowsOf(ctx: RunContext, relation: string): Promise<Record<string, unknown>[]> {
  return ctx.engine.all(`SELECT * FROM ${relation} ORDER BY id NULLS LAST, v`);
}

describe("dedupBatch merge", () => {
  it("keeps the latest row per key by order_by; ties go to the later source position", async () => {
    const ctx = await context({ strategy: "merge", key: ["id"], order_by: "ts" });
    const rel = await batch(ctx, [
      ["a", "a-old", 1],
      ["a", "a-new", 5],
      ["a", "a-late-arrival", 3],
      ["b", "b-first", 2],
      ["b", "b-second", 2],
      ["c", "c", 1],
      [null, "n1", 1],
      [null, "n2", 1],
    ]);
    const r = await dedupBatch(ctx, rel, undefined, "append");
    expect(r).toMatchObject({ extent: "append", duplicates: 3, dropped: 3, batchRows: 5 });
    const out = await rowsOf(ctx, r.relation);
    expect(out.map((x) => [x.id, x.v])).toEqual([
      ["a", "a-new"],
      ["b", "b-second"],
      ["c", "c"],
      [null, "n1"],
      [null, "n2"],
    ]);
    expect(Object.keys(out[0]!)).toEqual(["id", "v", "ts", "_source_pos"]);
  });

  it("merges against the target: newer wins, older and identical rows leave the target's row in place", async () => {
    const ctx = await context({ strategy: "merge", key: ["id"], order_by: "ts" });
    const existing = await target(ctx, [
      ["a", "a1", 1],
      ["b", "b1", 9],
      ["c", "c1", 4],
      ["d", "d1", 1],
    ]);
    const rel = await batch(ctx, [
      ["a", "a2", 2], // newer: replaces
      ["b", "b0", 3], // older: dropped
      ["c", "c1", 4], // identical: the target's row (and lineage) stays
      ["e", "e1", 1], // new key
      ["e", "e1", 1], // duplicate in the batch
    ]);
    const r = await dedupBatch(ctx, rel, existing, "append");
    expect(r).toMatchObject({ extent: "replace", duplicates: 4, dropped: 3, batchRows: 2 });
    const out = await rowsOf(ctx, r.relation);
    expect(out.map((x) => [x.id, x.v, x.ts, x._run_id])).toEqual([
      ["a", "a2", 2n, null],
      ["b", "b1", 9n, "r1"],
      ["c", "c1", 4n, "r1"],
      ["d", "d1", 1n, "r1"],
      ["e", "e1", 1n, null],
    ]);
    const types = await ctx.engine.columns(r.relation);
    expect(types.find((c) => c.name === "ts")?.type).toBe("BIGINT");
  });

  it("running the same batch again leaves the target unchanged", async () => {
    const ctx = await context({ strategy: "merge", key: ["id"], order_by: "ts" });
    const existing = await target(ctx, [
      ["a", "a1", 1],
      ["b", "b1", 2],
    ]);
    const rel = await batch(ctx, [
      ["a", "a1", 1],
      ["b", "b1", 2],
    ]);
    const r = await dedupBatch(ctx, rel, existing, "replace");
    expect(r).toMatchObject({ duplicates: 2, dropped: 2, batchRows: 0 });
    expect((await rowsOf(ctx, r.relation)).map((x) => [x.id, x.v, x._run_id])).toEqual([
      ["a", "a1", "r1"],
      ["b", "b1", "r1"],
    ]);
  });
});

describe("dedupBatch eager", () => {
  it("keeps the first occurrence per key and drops keys the target holds", async () => {
    const ctx = await context({ strategy: "eager", key: ["id"] });
    const existing = await target(ctx, [["a", "a0", 1]]);
    const rel = await batch(ctx, [
      ["a", "a1", 9],
      ["b", "b1", 1],
      ["b", "b2", 9],
      ["c", "c1", 1],
    ]);
    const r = await dedupBatch(ctx, rel, existing, "append");
    expect(r).toMatchObject({ extent: "replace", duplicates: 2, dropped: 2, batchRows: 2 });
    expect((await rowsOf(ctx, r.relation)).map((x) => [x.id, x.v, x._run_id])).toEqual([
      ["a", "a0", "r1"],
      ["b", "b1", null],
      ["c", "c1", null],
    ]);
    const first = await context({ strategy: "eager", key: ["id"] });
    const r1 = await dedupBatch(
      first,
      await batch(first, [
        ["b", "b1", 1],
        ["b", "b2", 0],
      ]),
      undefined,
      "append",
    );
    expect(r1).toMatchObject({ extent: "append", duplicates: 1, dropped: 1, batchRows: 1 });
    expect((await rowsOf(first, r1.relation)).map((x) => x.v)).toEqual(["b1"]);
  });
});

describe("dedupBatch bronze_append", () => {
  it("keeps every row with hashes that identify duplicates, counting those seen in the batch or target", async () => {
    const ctx = await context({ strategy: "bronze_append", key: ["id"] });
    const existing = await target(ctx, [["a", "a0", 1]]);
    const rel = await batch(ctx, [
      ["a", "a1", 1],
      ["b", "b1", 1],
      ["b", "b1", 1],
      ["c", "c1", 1],
    ]);
    const r = await dedupBatch(ctx, rel, existing, "append");
    expect(r).toMatchObject({ extent: "append", duplicates: 2, dropped: 0, batchRows: 4 });
    const out = await ctx.engine.all<{ id: string; c: string; p: string; expected: string }>(
      `SELECT id, _composite_hash AS c, _payload_hash AS p, sha256(id) AS expected FROM ${r.relation} ORDER BY _source_pos`,
    );
    expect(out.map((x) => x.c)).toEqual(out.map((x) => x.expected));
    expect(out[1]!.p).toBe(out[2]!.p);
    expect(new Set(out.map((x) => x.p)).size).toBe(3);
    expect(out.every((x) => /^[0-9a-f]{64}$/.test(x.p))).toBe(true);
  });
});

describe("dedupBatch none and config errors", () => {
  it("none passes every row and drops the source order column", async () => {
    const ctx = await context({ strategy: "none" });
    const r = await dedupBatch(
      ctx,
      await batch(ctx, [
        ["a", "x", 1],
        ["a", "x", 1],
      ]),
      undefined,
      "replace",
    );
    expect(r).toMatchObject({ extent: "replace", duplicates: 0, dropped: 0, batchRows: 2 });
    expect((await ctx.engine.columns(r.relation)).map((c) => c.name)).toEqual(["id", "v", "ts", "_source_pos"]);
  });

  it("a missing key is a config error naming the column", async () => {
    const ctx = await context({ strategy: "merge", key: ["nope"] });
    const err = await dedupBatch(ctx, await batch(ctx, [["a", "x", 1]]), undefined, "replace").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("`nope`");
  });
});
