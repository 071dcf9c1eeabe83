import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { testRunContext } from "../../test/support/run-context.js";
import { type ContractSpec, contractSpec, type PipelineInput, pipelineSpec } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { SluiceError, ValidationFailedError } from "../errors.js";
import type { RunContext } from "../plan/batch-context.js";
import { validateBatch } from "./validate-batch.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

/** A RunContext over a fresh engine and temp data dir, for one stage at a time. */
async function context(pipeline: Partial<PipelineInput>, contract: unknown): Promise<RunContext> {
  const engine = await Engine.open();
  engines.push(engine);
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-validate-"));
  const pipelineConfig = pipelineSpec.parse({
    source: { type: "generate", dataset: "behavioral_events" },
    sinks: [{ type: "parquet", path: "raw/x" }],
    ...pipeline,
  });
  return testRunContext(engine, {
    pipeline: "events",
    pipelineConfig,
    contract: contract === undefined ? undefined : (contractSpec.parse(contract) as ContractSpec),
    dataDir,
    startedAt: new Date("2026-01-01T00:00:00Z"),
  });
}

const contract = {
  columns: {
    id: { type: "string", required: true, pattern: "^e[0-9]+$", unique: true },
    kind: { type: "string", enum: ["a", "b"] },
    n: { type: "integer", min: 0, max: 10 },
    at: { type: "timestamp", not_future: true },
    ok: { type: "boolean" },
    doc: { type: "json" },
    name: { type: "string", min_length: 2, max_length: 4 },
  },
  extra_columns: "reject",
};

/** A VARCHAR batch (as a text source delivers it under a contract) with one defect per row after the first two. */
async function textBatch(ctx: RunContext): Promise<string> {
  await ctx.engine.run(`CREATE TABLE src AS SELECT * FROM (VALUES
    ('e1', 'a', '3', '2025-05-01T10:00:00+02:00', 'true', '{"x":1}', 'abc', NULL, 'f.jsonl:1'),
    ('e2', 'b', '10', '2025-05-02', 'false', '[1,2]', 'ab', NULL, 'f.jsonl:2'),
    ('e3', 'c', '3', NULL, NULL, NULL, NULL, NULL, 'f.jsonl:3'),
    ('e4', 'a', '1.5', NULL, NULL, NULL, NULL, NULL, 'f.jsonl:4'),
    ('e5', 'a', '11', NULL, NULL, NULL, NULL, NULL, 'f.jsonl:5'),
    ('e6', 'a', '-1', '2027-01-01T00:00:00Z', NULL, NULL, NULL, NULL, 'f.jsonl:6'),
    ('e7', 'a', NULL, 'yesterday', 'maybe', '{bad', NULL, NULL, 'f.jsonl:7'),
    (NULL, 'a', NULL, NULL, NULL, NULL, 'x', NULL, 'f.jsonl:8'),
    ('x9', NULL, NULL, NULL, NULL, NULL, 'abcde', NULL, 'f.jsonl:9'),
    ('e10', NULL, NULL, NULL, NULL, NULL, NULL, 'surprise', 'f.jsonl:10'),
    ('e11', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'f.jsonl:11'),
    ('e11', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'f.jsonl:12')
  ) AS t(id, kind, n, "at", ok, doc, name, extra, _source_pos)`);
  return "src";
}

async function unparseable(ctx: RunContext): Promise<{ relation: string; rows: number }> {
  await ctx.engine.run(
    `CREATE TABLE bad AS SELECT * FROM (VALUES ('f.jsonl:13', '{"id": "e13"', 'unexpected end of input')) AS t(_source_pos, _raw, _error)`,
  );
  return { relation: "bad", rows: 1 };
}

describe("validateBatch", () => {
  it("quarantine: valid rows typed, failing rows with every broken rule, rows in = valid + quarantined", async () => {
    const ctx = await context({ validation: "quarantine" }, contract);
    const result = await validateBatch(ctx, await textBatch(ctx), await unparseable(ctx));
    expect(result.validRows + result.quarantinedRows).toBe(13);
    expect(result.validRows).toBe(2);
    expect(result.quarantinePath).toBe("quarantine/events/20260101T000000Z_test01.parquet");

    const valid = await ctx.engine.all(`SELECT * EXCLUDE (_source_row) FROM ${result.valid} ORDER BY id`);
    expect(valid).toEqual([
      {
        id: "e1",
        kind: "a",
        n: 3n,
        at: new Date("2025-05-01T08:00:00Z"),
        ok: true,
        doc: '{"x":1}',
        name: "abc",
        _source_pos: "f.jsonl:1",
      },
      {
        id: "e2",
        kind: "b",
        n: 10n,
        at: new Date("2025-05-02T00:00:00Z"),
        ok: false,
        doc: "[1,2]",
        name: "ab",
        _source_pos: "f.jsonl:2",
      },
    ]);
    const types = await ctx.engine.columns(result.valid);
    expect(types.map((c) => `${c.name}:${c.type}`)).toEqual([
      "id:VARCHAR",
      "kind:VARCHAR",
      "n:BIGINT",
      "at:TIMESTAMP WITH TIME ZONE",
      "ok:BOOLEAN",
      "doc:JSON",
      "name:VARCHAR",
      "_source_pos:VARCHAR",
      "_source_row:BIGINT",
    ]);

    const file = result.quarantineStaged!;
    const q = await ctx.engine.all<{
      pos: string;
      rules: string[];
      id: string | null;
      run: string;
      raw: string | null;
    }>(
      `SELECT _source_pos AS pos, list_transform(_failures, f -> coalesce(f."column", '') || ':' || f.rule) AS rules, id, _run_id AS run, _raw AS raw
       FROM read_parquet('${file}')`,
    );
    // Natural order of source positions; every broken rule of a row listed.
    expect(q.map((r) => [r.pos, r.rules])).toEqual([
      ["f.jsonl:3", ["kind:enum"]],
      ["f.jsonl:4", ["n:type"]],
      ["f.jsonl:5", ["n:max"]],
      ["f.jsonl:6", ["n:min", "at:not_future"]],
      ["f.jsonl:7", ["at:type", "ok:type", "doc:type"]],
      ["f.jsonl:8", ["id:required", "name:min_length"]],
      ["f.jsonl:9", ["id:pattern", "name:max_length"]],
      ["f.jsonl:10", ["extra:extra_column"]],
      ["f.jsonl:11", ["id:unique"]],
      ["f.jsonl:12", ["id:unique"]],
      ["f.jsonl:13", [":unparseable"]],
    ]);
    expect(q.every((r) => r.run === ctx.runId)).toBe(true);
    expect(q.at(-1)?.raw).toBe('{"id": "e13"');
    // The original text of a value that did not cast is kept.
    const [r7] = await ctx.engine.all<{ at: string; value: string }>(
      `SELECT "at", _failures[1].value AS value FROM read_parquet('${file}') WHERE _source_pos = 'f.jsonl:7'`,
    );
    expect(r7).toEqual({ at: "yesterday", value: "yesterday" });
  });

  it("strict: writes the report, lists the first failures, throws exit 3", async () => {
    const ctx = await context({ validation: "strict" }, contract);
    const err = await validateBatch(ctx, await textBatch(ctx), await unparseable(ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationFailedError);
    const e = err as ValidationFailedError;
    expect(e.exitCode).toBe(3);
    expect(e.failedRows).toBe(11);
    expect(e.message).toContain("11 of 13 rows failed contract `(inline)`");
    expect(e.message).toContain('f.jsonl:3: kind enum "c" (not one of: a, b)');
    expect(e.message.split("\n").filter((l) => l.startsWith("  f.jsonl"))).toHaveLength(10);
    expect(existsSync(join(ctx.dataDir, "quarantine"))).toBe(false);
    const csv = readFileSync(e.reportPath, "utf8").trim().split("\n");
    expect(csv[0]).toBe("row_key,column,rule,value,detail,source_pos");
    expect(csv).toContain("e4,n,type,1.5,does not cast to integer,f.jsonl:4");
    // No value for the key: the source position identifies the row.
    expect(csv).toContain("f.jsonl:8,id,required,,missing,f.jsonl:8");
    expect(csv.some((l) => l.startsWith('f.jsonl:13,,unparseable,"{""id"": ""e13""",unexpected end of input'))).toBe(
      true,
    );
    expect(csv).toHaveLength(1 + 16);
  });

  it("off: no checks, contract shape; unparseable records still fail the run", async () => {
    const ctx = await context({ validation: "off" }, contract);
    const result = await validateBatch(ctx, await textBatch(ctx), undefined);
    expect(result).toMatchObject({ validRows: 12, quarantinedRows: 0 });
    expect(result.warnings?.join("\n")).toContain("column `n`: 1 values did not cast");
    const cols = (await ctx.engine.columns(result.valid)).map((c) => c.name);
    expect(cols).not.toContain("extra");
    const err = await validateBatch(ctx, "src", await unparseable(ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).exitCode).toBe(1);
  });

  it("unique on a merge key is dedup's job, not a failure", async () => {
    const ctx = await context(
      { validation: "strict", dedup: { strategy: "merge", key: ["id"] } },
      {
        columns: { id: { type: "string", unique: true }, v: { type: "integer" } },
      },
    );
    await ctx.engine.run(`CREATE TABLE s AS SELECT * FROM (VALUES ('a', '1'), ('a', '2'), ('b', '3')) t(id, v)`);
    const result = await validateBatch(ctx, "s", undefined);
    expect(result.validRows).toBe(3);
    const rows = await ctx.engine.all(
      `SELECT id, v, _source_pos, _source_row FROM ${result.valid} ORDER BY _source_row`,
    );
    expect(rows).toEqual([
      { id: "a", v: 1n, _source_pos: "row 1", _source_row: 0n },
      { id: "a", v: 2n, _source_pos: "row 2", _source_row: 1n },
      { id: "b", v: 3n, _source_pos: "row 3", _source_row: 2n },
    ]);
  });

  it("typed sources pass through without casts; extra_columns keep and drop", async () => {
    for (const extra of ["keep", "drop"] as const) {
      const ctx = await context(
        { validation: "strict" },
        {
          columns: { id: { type: "integer", required: true }, at: { type: "timestamp" } },
          extra_columns: extra,
        },
      );
      await ctx.engine.run(
        `CREATE TABLE s AS SELECT i AS id, TIMESTAMP '2025-01-01' + to_days(i::INTEGER) AS "at", {'k': i} AS more FROM range(3) r(i)`,
      );
      const result = await validateBatch(ctx, "s", undefined);
      const cols = await ctx.engine.columns(result.valid);
      expect(cols.map((c) => `${c.name}:${c.type}`)).toEqual([
        "id:BIGINT",
        "at:TIMESTAMP WITH TIME ZONE",
        ...(extra === "keep" ? ["more:STRUCT(k BIGINT)"] : []),
        "_source_pos:VARCHAR",
        "_source_row:BIGINT",
      ]);
    }
  });

  it("a bad pattern is a config error naming the column", async () => {
    const ctx = await context({ validation: "strict" }, { columns: { id: { type: "string", pattern: "(" } } });
    await ctx.engine.run(`CREATE TABLE s AS SELECT 'a' AS id`);
    const err = await validateBatch(ctx, "s", undefined).catch((e: unknown) => e);
    expect((err as SluiceError).exitCode).toBe(2);
    expect((err as Error).message).toContain("column `id`: pattern ( is not a valid regular expression");
  });
});

describe("validateBatch with transform fail markers", () => {
  it("turns `_fail:<rule>:<column>` columns into failures and keeps the original text", async () => {
    const ctx = await context(
      { validation: "quarantine" },
      { columns: { n: { type: "integer" }, c: { type: "string" } } },
    );
    await ctx.engine.run(
      `CREATE TABLE s AS SELECT * FROM (VALUES (1, 'x', NULL, NULL), (NULL, 'y', 'twelve', NULL), (3, 'zz', NULL, 'zz')) t(n, c, "_fail:type:n", "_fail:unmapped:c")`,
    );
    const result = await validateBatch(ctx, "s", undefined);
    expect(result).toMatchObject({ validRows: 1, quarantinedRows: 2 });
    expect((await ctx.engine.columns(result.valid)).map((c) => c.name)).toEqual([
      "n",
      "c",
      "_source_pos",
      "_source_row",
    ]);
    const q = await ctx.engine.all(
      `SELECT n, c, _failures AS f FROM read_parquet('${result.quarantineStaged!}') ORDER BY _source_pos`,
    );
    expect(q).toEqual([
      {
        n: "twelve",
        c: "y",
        f: [{ column: "n", rule: "type", value: "twelve", detail: "could not be converted by a transform" }],
      },
      {
        n: "3",
        c: "zz",
        f: [{ column: "c", rule: "unmapped", value: "zz", detail: "unmapped (reported by a transform)" }],
      },
    ]);
  });
});

describe("validateBatch over a view", () => {
  it("numbers rows by scan position, so the same rows are excluded and source order is kept", async () => {
    const ctx = await context({ validation: "quarantine" }, { columns: { i: { type: "integer", max: 299_990 } } });
    await ctx.engine.run(`CREATE TABLE t AS SELECT (i * 3)::VARCHAR AS i FROM range(100000) r(i)`);
    await ctx.engine.run(`CREATE VIEW v AS SELECT i, 'f:' || (rowid + 1) AS _source_pos FROM t`);
    const result = await validateBatch(ctx, "v", undefined);
    expect(result).toMatchObject({ validRows: 99997, quarantinedRows: 3 });
    const [check] = await ctx.engine.all<{ n: bigint; bad: bigint; max: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE i <> _source_row * 3 OR _source_pos <> 'f:' || (_source_row + 1)) AS bad, max(i) AS max FROM ${result.valid}`,
    );
    expect(check).toEqual({ n: 99997n, bad: 0n, max: 299_988n });
  });
});
