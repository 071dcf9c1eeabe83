import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type ContractSpec, transformSpec } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { SluiceError } from "../errors.js";
import { applyTransformSteps } from "./apply-transforms.js";
import type { TransformContext } from "./transform.js";

interface Harness {
  engine: Engine;
  ctx: TransformContext;
  logs: { level: string; msg: string }[];
}

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

/** A real DuckDB engine holding `rows` (a SELECT) as table `src`, and a context running `steps`. */
async function harness(
  rowsSql: string,
  steps: unknown[],
  opts: { contract?: ContractSpec; validation?: "strict" | "quarantine" | "off"; configDir?: string } = {},
): Promise<Harness> {
  const engine = await Engine.open();
  engines.push(engine);
  await engine.run(`CREATE TABLE src AS ${rowsSql}`);
  const logs: { level: string; msg: string }[] = [];
  const log = pino(
    { level: "info", formatters: { level: (label) => ({ level: label }) } },
    {
      write(line: string) {
        const o = JSON.parse(line) as { level: string; msg: string };
        logs.push({ level: o.level, msg: o.msg });
      },
    },
  );
  let n = 0;
  const ctx: TransformContext = {
    engine,
    log,
    configDir: opts.configDir ?? tmpdir(),
    contract: opts.contract,
    tmpName: (p) => `${p}_${++n}`,
    pipelineConfig: { validation: opts.validation ?? "strict", transforms: steps.map((s) => transformSpec.parse(s)) },
  };
  return { engine, ctx, logs };
}

async function rowsOf(h: Harness, sql: string): Promise<Record<string, unknown>[]> {
  return h.engine.all(sql);
}

async function failure(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SluiceError) return err;
    throw err;
  }
  throw new Error("expected a SluiceError");
}

const contract: ContractSpec = { columns: { ts: { type: "timestamp", required: true } }, extra_columns: "keep" };

describe("timezone", () => {
  it("lands an offset, a Z and a Europe/Paris wall-clock time on the same UTC instant", async () => {
    const h = await harness(
      `SELECT * FROM (VALUES ('a.jsonl:1', '2025-03-01T09:00:00+09:00'), ('a.jsonl:2', '2025-03-01 00:00:00Z'),
        ('a.jsonl:3', '2025-03-01T01:00:00'), ('a.jsonl:4', '2025-03-01 09:00:00 Asia/Tokyo'), ('a.jsonl:5', NULL))
        t(_source_pos, ts)`,
      [{ type: "timezone", columns: ["ts"], source_zone: "Europe/Paris" }],
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await h.engine.columns(r.relation)).toEqual([
      { name: "_source_pos", type: "VARCHAR" },
      { name: "ts", type: "TIMESTAMP WITH TIME ZONE" },
    ]);
    const rows = await rowsOf(h, `SELECT _source_pos, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS utc FROM ${r.relation}`);
    expect(rows).toEqual([
      { _source_pos: "a.jsonl:1", utc: "2025-03-01T00:00:00Z" },
      { _source_pos: "a.jsonl:2", utc: "2025-03-01T00:00:00Z" },
      { _source_pos: "a.jsonl:3", utc: "2025-03-01T00:00:00Z" },
      { _source_pos: "a.jsonl:4", utc: "2025-03-01T00:00:00Z" },
      { _source_pos: "a.jsonl:5", utc: null },
    ]);
  });

  it("reads naive TIMESTAMP values in the source zone (summer time included) and passes TIMESTAMPTZ through", async () => {
    const h = await harness(
      `SELECT TIMESTAMP '2025-07-01 12:00:00' AS naive, TIMESTAMPTZ '2025-07-01 12:00:00+00' AS aware`,
      [{ type: "timezone", columns: ["naive", "aware"], source_zone: "America/New_York" }],
    );
    const r = await applyTransformSteps(h.ctx, "src");
    const [row] = await rowsOf(
      h,
      `SELECT strftime(naive, '%Y-%m-%dT%H:%M:%SZ') n, strftime(aware, '%Y-%m-%dT%H:%M:%SZ') a FROM ${r.relation}`,
    );
    expect(row).toEqual({ n: "2025-07-01T16:00:00Z", a: "2025-07-01T12:00:00Z" });
  });

  it("turns an unparseable value into NULL plus a `type` fail marker holding the original text when a contract is set", async () => {
    const h = await harness(
      `SELECT * FROM (VALUES ('l:1', '2025-03-01T00:00:00Z'), ('l:2', 'yesterday')) t(_source_pos, ts)`,
      [{ type: "timezone", columns: ["ts"] }],
      { contract },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    const rows = await rowsOf(
      h,
      `SELECT _source_pos, ts IS NULL AS missing, "_fail:type:ts" AS fail FROM ${r.relation}`,
    );
    expect(rows).toEqual([
      { _source_pos: "l:1", missing: false, fail: null },
      { _source_pos: "l:2", missing: true, fail: "yesterday" },
    ]);
  });

  it("without a contract, logs how many values became NULL and adds no marker", async () => {
    const h = await harness(`SELECT * FROM (VALUES ('2025-03-01'), ('nope'), ('13/45/2025')) t(ts)`, [
      { type: "timezone", columns: ["ts"] },
    ]);
    const r = await applyTransformSteps(h.ctx, "src");
    expect((await h.engine.columns(r.relation)).map((c) => c.name)).toEqual(["ts"]);
    expect(h.logs).toContainEqual({ level: "warn", msg: expect.stringContaining("2 value(s) of `ts`") });
  });

  it("rejects an unknown zone with a suggestion (exit 2)", async () => {
    const h = await harness(`SELECT '2025-03-01' AS ts`, [
      { type: "timezone", columns: ["ts"], source_zone: "Europe/Pariss" },
    ]);
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      "transforms[0] (timezone): timezone.source_zone: unknown time zone `Europe/Pariss`; did you mean `Europe/Paris`?",
    );
  });
});

describe("rename", () => {
  it("converts camelCase to snake_case and back, leaving _source_pos alone", async () => {
    const h = await harness(
      `SELECT 'p:1' AS _source_pos, 'u1' AS "userId", 'click' AS "eventType", 200 AS "HTTPStatus"`,
      [{ type: "rename", case: "snake_case" }],
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT * FROM ${r.relation}`)).toEqual([
      { _source_pos: "p:1", user_id: "u1", event_type: "click", http_status: 200 },
    ]);

    const back = await harness(`SELECT 'p:1' AS _source_pos, 'u1' AS user_id, 'click' AS event_type`, [
      { type: "rename", case: "camelCase" },
    ]);
    const r2 = await applyTransformSteps(back.ctx, "src");
    expect(await rowsOf(back, `SELECT * FROM ${r2.relation}`)).toEqual([
      { _source_pos: "p:1", userId: "u1", eventType: "click" },
    ]);
  });

  it("applies an explicit map first and the case to the other columns", async () => {
    const h = await harness(`SELECT 1 AS "userId", 2 AS "eventType"`, [
      { type: "rename", columns: { userId: "customer" }, case: "snake_case" },
    ]);
    const r = await applyTransformSteps(h.ctx, "src");
    expect((await h.engine.columns(r.relation)).map((c) => c.name)).toEqual(["customer", "event_type"]);
  });

  it("names an unknown source column with a did-you-mean and the columns available (exit 2)", async () => {
    const h = await harness(`SELECT 1 AS "userId", 2 AS "eventType", 'x' AS _source_pos`, [
      { type: "rename", columns: { usrId: "user_id" } },
    ]);
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      "transforms[0] (rename): rename.columns: no column `usrId` in the batch; did you mean `userId`?",
    );
    expect(e.hint).toContain("columns at this step: userId, eventType.");
  });

  it("renames a column's fail marker with it", async () => {
    const h = await harness(
      `SELECT 'x' AS "startedAt"`,
      [
        { type: "timezone", columns: ["startedAt"] },
        { type: "rename", case: "snake_case" },
      ],
      { contract },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT * FROM ${r.relation}`)).toEqual([
      { started_at: null, "_fail:type:started_at": "x" },
    ]);
  });

  it("refuses two columns ending with one name", async () => {
    const h = await harness(`SELECT 1 AS "userId", 2 AS user_id`, [{ type: "rename", case: "snake_case" }]);
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.message).toContain("columns `userId` and `user_id` would both be named `user_id`");
  });
});

describe("cast", () => {
  it("casts to contract and DuckDB types; failures become NULL with a `type` marker under a contract", async () => {
    const h = await harness(
      `SELECT * FROM (VALUES ('r:1', '42', '19.99', 'true', '2025-03-01'), ('r:2', 'forty', '1.5', 'maybe', 'x'))
        t(_source_pos, n, price, ok, d)`,
      [{ type: "cast", columns: { n: "integer", price: "DECIMAL(10,2)", ok: "boolean", d: "date" } }],
      { contract: { columns: { n: { type: "integer" } }, extra_columns: "keep" } },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    const types = Object.fromEntries((await h.engine.columns(r.relation)).map((c) => [c.name, c.type]));
    expect(types).toMatchObject({ n: "BIGINT", price: "DECIMAL(10,2)", ok: "BOOLEAN", d: "DATE" });
    const rows = await rowsOf(
      h,
      `SELECT _source_pos, n, CAST(price AS VARCHAR) AS price, ok, "_fail:type:n" AS fn, "_fail:type:ok" AS fok, "_fail:type:d" AS fd FROM ${r.relation}`,
    );
    expect(rows).toEqual([
      { _source_pos: "r:1", n: 42n, price: "19.99", ok: true, fn: null, fok: null, fd: null },
      { _source_pos: "r:2", n: null, price: "1.50", ok: null, fn: "forty", fok: "maybe", fd: "x" },
    ]);
  });

  it("rejects a type DuckDB does not know (exit 2)", async () => {
    const h = await harness(`SELECT '1' AS n`, [{ type: "cast", columns: { n: "INTEGERX" } }]);
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("unknown type `INTEGERX`");
  });
});

describe("derive", () => {
  it("adds event_date and event_hour from a timestamp, and replaces a column in place", async () => {
    const h = await harness(
      `SELECT 'p:1' AS _source_pos, TIMESTAMPTZ '2025-03-01 23:30:00+00' AS "timestamp", 'Click' AS kind`,
      [
        {
          type: "derive",
          columns: { event_date: "CAST(timestamp AS DATE)", event_hour: "hour(timestamp)", kind: "lower(kind)" },
        },
      ],
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect((await h.engine.columns(r.relation)).map((c) => c.name)).toEqual([
      "_source_pos",
      "timestamp",
      "kind",
      "event_date",
      "event_hour",
    ]);
    const [row] = await rowsOf(h, `SELECT CAST(event_date AS VARCHAR) d, event_hour h, kind FROM ${r.relation}`);
    expect(row).toEqual({ d: "2025-03-01", h: 23n, kind: "click" });
  });

  it("reports an expression DuckDB cannot bind as a config error naming the column", async () => {
    const h = await harness(`SELECT 1 AS a`, [{ type: "derive", columns: { b: "a + nosuch" } }]);
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("derive.columns.b: DuckDB cannot evaluate `a + nosuch`");
  });
});

describe("pii", () => {
  const salt = "pepper-123";

  it("hashes with the salt from the environment, masks and drops; NULL stays NULL", async () => {
    process.env.TEST_PII_SALT = salt;
    const h = await harness(
      `SELECT * FROM (VALUES ('p:1', 'jane.doe@example.com', 'Jane Doe', '555-0100', 'u1'),
        ('p:2', NULL, 'Al', NULL, 'u2')) t(_source_pos, email, name, phone, id)`,
      [{ type: "pii", columns: { email: "hash", name: "mask", phone: "drop" }, salt_env: "TEST_PII_SALT" }],
    );
    const r = await applyTransformSteps(h.ctx, "src");
    const rows = await rowsOf(h, `SELECT * FROM ${r.relation}`);
    const expected = createHash("sha256").update(`${salt}jane.doe@example.com`).digest("hex");
    expect(rows).toEqual([
      { _source_pos: "p:1", email: expected, name: "J***e", id: "u1" },
      { _source_pos: "p:2", email: null, name: "***", id: "u2" },
    ]);
  });

  it("masks emails as first character and domain", async () => {
    const h = await harness(`SELECT 'jane@example.com' AS email`, [{ type: "pii", columns: { email: "mask" } }]);
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT email FROM ${r.relation}`)).toEqual([{ email: "j***@example.com" }]);
  });

  it("refuses to hash without a salt (exit 2), saying which variable to set", async () => {
    delete process.env.SLUICE_PII_SALT_UNSET_FOR_TEST;
    const h = await harness(`SELECT 'x' AS email`, [
      { type: "pii", columns: { email: "hash" }, salt_env: "SLUICE_PII_SALT_UNSET_FOR_TEST" },
    ]);
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("SLUICE_PII_SALT_UNSET_FOR_TEST is not set");
    expect(e.hint).toContain("export SLUICE_PII_SALT_UNSET_FOR_TEST=");
  });

  it("also protects the fail marker of a column whose cast failed", async () => {
    process.env.TEST_PII_SALT = salt;
    const h = await harness(
      `SELECT 'not-a-number-555' AS phone`,
      [
        { type: "cast", columns: { phone: "integer" } },
        { type: "pii", columns: { phone: "hash" }, salt_env: "TEST_PII_SALT" },
      ],
      { contract: { columns: { phone: { type: "integer" } }, extra_columns: "keep" } },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    const [row] = await rowsOf(h, `SELECT "_fail:type:phone" AS f FROM ${r.relation}`);
    expect(row?.f).toBe(createHash("sha256").update(`${salt}not-a-number-555`).digest("hex"));
  });
});

describe("filter and sql", () => {
  it("filter keeps rows where the predicate is true (NULL is not), logs and counts the rest", async () => {
    const h = await harness(
      `SELECT 'p:' || i AS _source_pos, CASE WHEN i = 3 THEN NULL ELSE i END AS n FROM range(1, 7) t(i)`,
      [{ type: "filter", where: "n % 2 = 0 OR n = 5" }],
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT _source_pos FROM ${r.relation}`)).toEqual([
      { _source_pos: "p:2" },
      { _source_pos: "p:4" },
      { _source_pos: "p:5" },
      { _source_pos: "p:6" },
    ]);
    expect(r).toMatchObject({ rows: 4, filtered: 2 });
    expect(h.logs).toContainEqual({ level: "info", msg: "filter removed 2 of 6 rows (where n % 2 = 0 OR n = 5)" });
  });

  it("sql runs a SELECT over `input`, merging the query's own WITH", async () => {
    const h = await harness(`SELECT 'p:' || i AS _source_pos, i AS amount FROM range(1, 5) t(i)`, [
      { type: "sql", query: "SELECT *, amount * 100 AS cents FROM input WHERE amount > 1" },
      { type: "sql", query: "WITH big AS (SELECT * FROM input WHERE cents >= 300) SELECT * FROM big;" },
    ]);
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT _source_pos, cents FROM ${r.relation}`)).toEqual([
      { _source_pos: "p:3", cents: 300n },
      { _source_pos: "p:4", cents: 400n },
    ]);
    expect(r.filtered).toBe(2);
  });

  it("sql that drops _source_pos still runs, with a warning", async () => {
    const h = await harness(`SELECT 'p:1' AS _source_pos, 1 AS a`, [{ type: "sql", query: "SELECT a FROM input" }]);
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT * FROM ${r.relation}`)).toEqual([{ a: 1 }]);
    expect(h.logs.some((l) => l.level === "warn" && l.msg.includes("drops `_source_pos`"))).toBe(true);
  });
});

describe("map from a file", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-map-test-"));
  // c2 appears twice: the first row wins and no batch row is duplicated.
  writeFileSync(join(dir, "ids.csv"), "legacy_id,customer_id\nc1,CUST-1\nc2,CUST-2\nc2,CUST-X\n007,CUST-7\n");

  const rows = `SELECT * FROM (VALUES ('e:1', 'c2'), ('e:2', 'zz'), ('e:3', 'c1'), ('e:4', NULL), ('e:5', 'c2'), ('e:6', '007'))
    t(_source_pos, cid)`;
  const from = { file: "ids.csv", key: "legacy_id", value: "customer_id" };

  it("replaces the column in batch order, one row per input row, and flags unmapped values", async () => {
    const h = await harness(rows, [{ type: "map", column: "cid", from, unmapped: "flag" }], { configDir: dir });
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT * FROM ${r.relation}`)).toEqual([
      { _source_pos: "e:1", cid: "CUST-2", _unmapped_cid: false },
      { _source_pos: "e:2", cid: "zz", _unmapped_cid: true },
      { _source_pos: "e:3", cid: "CUST-1", _unmapped_cid: false },
      { _source_pos: "e:4", cid: null, _unmapped_cid: false },
      { _source_pos: "e:5", cid: "CUST-2", _unmapped_cid: false },
      { _source_pos: "e:6", cid: "CUST-7", _unmapped_cid: false },
    ]);
    expect(h.logs.some((l) => l.level === "warn" && l.msg.includes("1 row(s) of ids.csv repeat a key"))).toBe(true);
  });

  it("writes to a new target column right after the source column; quarantine adds an `unmapped` marker", async () => {
    const h = await harness(
      rows,
      [{ type: "map", column: "cid", target: "customer_id", from, unmapped: "quarantine" }],
      { configDir: dir, contract: { columns: { cid: { type: "string" } }, extra_columns: "keep" } },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect((await h.engine.columns(r.relation)).map((c) => c.name)).toEqual([
      "_source_pos",
      "cid",
      "customer_id",
      "_fail:unmapped:cid",
    ]);
    const got = await rowsOf(h, `SELECT customer_id, "_fail:unmapped:cid" AS f FROM ${r.relation}`);
    expect(got.map((x) => x.customer_id)).toEqual(["CUST-2", "zz", "CUST-1", null, "CUST-2", "CUST-7"]);
    expect(got.map((x) => x.f)).toEqual([null, "zz", null, null, null, null]);
  });

  it("flags instead of quarantining, with a warning, when no contract stage would read the marker", async () => {
    const h = await harness(rows, [{ type: "map", column: "cid", from, unmapped: "quarantine" }], { configDir: dir });
    const r = await applyTransformSteps(h.ctx, "src");
    expect((await h.engine.columns(r.relation)).map((c) => c.name)).toEqual(["_source_pos", "cid", "_unmapped_cid"]);
    expect(h.logs.some((l) => l.level === "warn" && l.msg.includes("unmapped: quarantine needs a contract"))).toBe(
      true,
    );
  });

  it("keeps order and row count over a large batch", async () => {
    const h = await harness(
      `SELECT 'p:' || i AS _source_pos, i AS seq, 'c' || (i % 3) AS cid FROM range(300000) t(i)`,
      [{ type: "map", column: "cid", from, unmapped: "keep" }],
      { configDir: dir },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    const [row] = await rowsOf(
      h,
      `SELECT count(*) AS n, bool_and(seq = rn - 1) AS ordered, count(*) FILTER (WHERE cid = 'CUST-1') AS ones
       FROM (SELECT seq, cid, row_number() OVER () AS rn FROM ${r.relation})`,
    );
    expect(row).toEqual({ n: 300000n, ordered: true, ones: 100000n });
  });

  it("names a missing key column with a did-you-mean", async () => {
    const h = await harness(rows, [{ type: "map", column: "cid", from: { ...from, key: "legacyid" } }], {
      configDir: dir,
    });
    const e = await failure(applyTransformSteps(h.ctx, "src"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("map.from.key: no column `legacyid` in the batch; did you mean `legacy_id`?");
  });
});

describe("every transform", () => {
  it("passes _source_pos through untouched, in order", async () => {
    process.env.TEST_PII_SALT = "s";
    const dir = mkdtempSync(join(tmpdir(), "sluice-map-test-"));
    writeFileSync(join(dir, "m.jsonl"), '{"k":"a","v":"A"}\n');
    const h = await harness(
      `SELECT 'f.jsonl:' || i AS _source_pos, 'a' AS "userId", '2025-01-01 00:00:00' AS ts, '3' AS n FROM range(1, 4) t(i)`,
      [
        { type: "rename", case: "snake_case" },
        { type: "cast", columns: { n: "integer" } },
        { type: "timezone", columns: ["ts"] },
        { type: "derive", columns: { d: "CAST(ts AS DATE)" } },
        { type: "map", column: "user_id", from: { file: "m.jsonl", key: "k", value: "v" } },
        { type: "pii", columns: { user_id: "hash" }, salt_env: "TEST_PII_SALT" },
        { type: "filter", where: "n = 3" },
        { type: "sql", query: "SELECT * FROM input" },
      ],
      { configDir: dir },
    );
    const r = await applyTransformSteps(h.ctx, "src");
    expect(await rowsOf(h, `SELECT _source_pos FROM ${r.relation}`)).toEqual([
      { _source_pos: "f.jsonl:1" },
      { _source_pos: "f.jsonl:2" },
      { _source_pos: "f.jsonl:3" },
    ]);
    expect(r).toMatchObject({ rows: 3, filtered: 0 });
    // Only the source and the result remain in the session: intermediates are dropped.
    const left = await rowsOf(
      h,
      "SELECT table_name AS t FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1",
    );
    expect(left).toEqual([{ t: "src" }, { t: r.relation }]);
  });
});
