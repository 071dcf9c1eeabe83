import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "../../../test/support/postgres.js";
import { testRunContext } from "../../../test/support/run-context.js";
import { type PostgresSourceConfig, postgresSourceSpec } from "../../config/spec.js";
import { Engine } from "../../engine/engine.js";
import { SluiceError } from "../../errors.js";
import type { RunOptions } from "../../plan/batch-context.js";
import { silentLogger } from "../../util/logger.js";
import { type PostgresExportTuning, PostgresSource } from "./postgres-source.js";

let server: TestPostgres;
let schema: TestSchema;
let dataDir: string;
const engines: Engine[] = [];

beforeAll(async () => {
  server = await testPostgres();
  schema = await testSchema(server.url, "pgsrc_unit");
  dataDir = mkdtempSync(join(tmpdir(), "sluice-pg-unit-"));
});

afterAll(async () => {
  for (const e of engines) e.close();
  await schema?.drop();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const q = (name: string) => `"${schema.name}"."${name}"`;

/** Runs one extract through a real Engine and returns what a stage after it would see. */
async function extract(
  config: Partial<PostgresSourceConfig>,
  opts: { options?: RunOptions; state?: Record<string, unknown>; tuning?: PostgresExportTuning } = {},
) {
  const engine = await Engine.open();
  engines.push(engine);
  const source = new PostgresSource(
    postgresSourceSpec.parse({ type: "postgres", url: schema.url, ...config }),
    opts.tuning,
  );
  const ctx = testRunContext(engine, {
    runId: `run${Math.random().toString(36).slice(2, 8)}`,
    dataDir,
    options: opts.options ?? {},
    state: opts.state ?? {},
  });
  const result = await source.extract(ctx);
  const types = Object.fromEntries((await engine.columns(result.relation)).map((c) => [c.name, c.type]));
  return { result, types, rows: (s: string) => engine.all(s.replaceAll("$REL", result.relation)) };
}

describe("PostgresSource types", () => {
  beforeAll(async () => {
    await sql(
      server.url,
      `SET search_path TO "${schema.name}";
       CREATE TYPE mood AS ENUM ('sad', 'happy');
       CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
       CREATE TABLE types (
         id serial PRIMARY KEY, s text, v varchar(10), ch char(3), e mood, d posint,
         i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
         n numeric(10,2), nu numeric, nbig numeric(50,5), b boolean, u uuid, j json, jb jsonb,
         ts timestamp, tstz timestamptz, dt date, tm time, iv interval,
         ta text[], ia int[], ma mood[], ba bytea, ip inet);
       INSERT INTO types (s, v, ch, e, d, i2, i4, i8, f4, f8, n, nu, nbig, b, u, j, jb, ts, tstz, dt, tm, iv, ta, ia, ma, ba, ip) VALUES
        ('', 'x', 'ab', 'happy', 5, -3, 42, 9007199254740993, 1.5, 0.1, 12.34, 3.14159265358979, 1234567890123456789012345678901234567890.5,
         true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, "x"]}', '{"b": null}',
         '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+05', '2024-02-29', '13:14:15.5', '1 year 2 mons 3 days 04:05:06.5',
         ARRAY['a', 'b,c', '"q"', NULL, ''], ARRAY[1, NULL, 3], ARRAY['sad', 'happy']::mood[], '\\x00ff'::bytea, '10.0.0.1/8'),
        (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', 'Infinity', NULL, NULL, NULL, false, NULL, NULL, 'null',
         'infinity', '-infinity', NULL, NULL, '-1 day', '{}', NULL, NULL, '', NULL),
        (E'line1\\nline2 "quoted", comma', 'NULL', '\\N', 'sad', 1, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, '[]', '"str"',
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`,
    );
  });

  it("maps every PostgreSQL type to its faithful DuckDB type", async () => {
    const { result, types } = await extract({ table: "types" });
    expect(result.rows).toBe(3);
    expect(result.extent).toBe("replace");
    expect(types).toEqual({
      id: "INTEGER",
      s: "VARCHAR",
      v: "VARCHAR",
      ch: "VARCHAR",
      e: "VARCHAR",
      d: "INTEGER",
      i2: "SMALLINT",
      i4: "INTEGER",
      i8: "BIGINT",
      f4: "FLOAT",
      f8: "DOUBLE",
      n: "DECIMAL(10,2)",
      nu: "DOUBLE",
      nbig: "DOUBLE",
      b: "BOOLEAN",
      u: "UUID",
      j: "JSON",
      jb: "JSON",
      ts: "TIMESTAMP",
      tstz: "TIMESTAMP WITH TIME ZONE",
      dt: "DATE",
      tm: "TIME",
      iv: "INTERVAL",
      ta: "VARCHAR[]",
      ia: "INTEGER[]",
      ma: "VARCHAR[]",
      ba: "BLOB",
      ip: "VARCHAR",
      _source_pos: "VARCHAR",
    });
  });

  it("keeps values exact: NULL vs empty string, newlines, quotes, infinities, arrays", async () => {
    const { rows } = await extract({ table: "types" });
    const r = await rows(
      `SELECT id, s, s IS NULL AS s_null, v, ch, e, d, i8::VARCHAR AS i8, f4::VARCHAR AS f4, f8::VARCHAR AS f8, n::VARCHAR AS n,
              nbig, b, u::VARCHAR AS u, j::VARCHAR AS j, jb::VARCHAR AS jb, jb IS NULL AS jb_null,
              strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts, tstz::VARCHAR AS tstz, dt::VARCHAR AS dt, tm::VARCHAR AS tm,
              iv::VARCHAR AS iv, ta, ia, ma, hex(ba) AS ba, ip, _source_pos
         FROM $REL ORDER BY id`,
    );
    expect(r[0]).toMatchObject({
      s: "",
      s_null: false,
      v: "x",
      ch: "ab ",
      e: "happy",
      d: 5,
      i8: "9007199254740993",
      f4: "1.5",
      f8: "0.1",
      n: "12.34",
      b: true,
      u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      j: '{"a": [1, "x"]}',
      jb: '{"b": null}',
      ts: "2024-01-02 03:04:05.123456",
      tstz: "2024-01-01 22:04:05.5+00",
      dt: "2024-02-29",
      tm: "13:14:15.5",
      iv: "1 year 2 months 3 days 04:05:06.5",
      ta: ["a", "b,c", '"q"', null, ""],
      ia: [1, null, 3],
      ma: ["sad", "happy"],
      ba: "00FF",
      ip: "10.0.0.1/8",
      _source_pos: "id=1",
    });
    expect(r[0]!.nbig).toBeCloseTo(1.2345678901234568e39);
    expect(r[1]).toMatchObject({
      s: null,
      s_null: true,
      f4: "nan",
      f8: "inf",
      jb: "null",
      jb_null: false,
      tstz: "-infinity",
      iv: "-1 day",
      ta: [],
      ba: "",
    });
    expect(r[2]).toMatchObject({ s: 'line1\nline2 "quoted", comma', v: "NULL", ch: "\\N ", j: "[]", jb: '"str"' });
  });

  it("exports only `columns`, in their order", async () => {
    const { types } = await extract({ table: "types", columns: ["u", "id", "s"] });
    expect(Object.keys(types)).toEqual(["u", "id", "s", "_source_pos"]);
  });

  it("reads a query, with the URL's ?schema= as search_path", async () => {
    const { result, rows } = await extract({
      query: "SELECT id, upper(e::text) AS mood FROM types WHERE e IS NOT NULL;",
    });
    expect(result.description).toMatch(/ query$/);
    expect(await rows("SELECT * EXCLUDE (_source_pos) FROM $REL ORDER BY id")).toEqual([
      { id: 1, mood: "HAPPY" },
      { id: 3, mood: "SAD" },
    ]);
  });
});

describe("PostgresSource table candidates, filters and errors", () => {
  beforeAll(async () => {
    await sql(
      server.url,
      `SET search_path TO "${schema.name}";
       CREATE TABLE behavioral_events (id text PRIMARY KEY, "userId" text, kind text, "timestamp" timestamptz);
       INSERT INTO behavioral_events
       SELECT 'e' || lpad(i::text, 4, '0'), 'u' || (i % 3), CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END,
              now() - (i || ' days')::interval
         FROM generate_series(1, 20) i;`,
    );
  });

  it("uses the first candidate that exists", async () => {
    const { result } = await extract({ table: ["BehavioralEvent", "behavioral_events"] });
    expect(result.rows).toBe(20);
    expect(result.description).toBe(`${server.url.replace(/:[^:@/]*@/, ":***@")} ${schema.name}.behavioral_events`);
  });

  it("fails at once, listing the candidates and the schema, when none exists", async () => {
    const err = await extract({ table: ["BehavioralEvent", "behavioral_event_log"] }).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.transient).toBe(false);
    expect(err.message).toContain('"BehavioralEvent", "behavioral_event_log"');
    expect(err.message).toContain(`schema ${schema.name}`);
    expect(err.hint).toContain('did you mean "behavioral_events"');
  });

  it("filters with `where`, --user-id and --days", async () => {
    const where = await extract({ table: "behavioral_events", where: { kind: "even" } });
    expect(where.result.rows).toBe(10);
    const user = await extract({ table: "behavioral_events" }, { options: { userId: "u1" } });
    expect(user.result.rows).toBe(7);
    expect(user.result.extent).toBe("append");
    expect(user.result.nextState).toBeUndefined();
    // --user-id alone: the user's whole history, whatever window the pipeline configures.
    const windowed = { table: "behavioral_events", cursor: "timestamp", mode: "window" as const, days: 2 };
    expect((await extract(windowed, { options: { userId: "u1" } })).result.rows).toBe(7);
    expect((await extract(windowed, { options: { userId: "u1", days: 10.5 } })).result.rows).toBe(4);
    const days = await extract(
      { table: "behavioral_events", cursor: "timestamp", mode: "full" },
      { options: { days: 5.5 } },
    );
    expect(days.result.rows).toBe(5);
    expect(days.result.extent).toBe("replace");
  });

  it("treats a quote in a filter value as data, not SQL", async () => {
    const { result } = await extract({ table: "behavioral_events", where: { kind: "x' OR '1'='1" } });
    expect(result.rows).toBe(0);
  });

  it("names an unknown column with a suggestion", async () => {
    const err = await extract({ table: "behavioral_events", where: { userid: "u1" } }).catch((e) => e);
    expect(err.message).toContain('"userid"');
    expect(err.hint).toContain('did you mean "userId"');
    expect(err.exitCode).toBe(2);
  });

  it("marks bad SQL terminal, a refused connection transient, and never shows the password", async () => {
    const bad = await extract({ query: "SELEC 1" }).catch((e) => e);
    expect(bad).toBeInstanceOf(SluiceError);
    expect(bad.transient).toBe(false);
    expect(bad.hint).toContain("malformed");

    const source = new PostgresSource(
      postgresSourceSpec.parse({ type: "postgres", url: "postgres://bob:Sup3rS3cret@127.0.0.1:1/db", table: "t" }),
    );
    const refused = await source.check({ configDir: dataDir, dataDir, log: silentLogger() }).catch((e) => e);
    expect(refused).toBeInstanceOf(SluiceError);
    expect(refused.transient).toBe(true);
    expect(refused.message).toContain("postgres://bob:***@127.0.0.1:1/db");
    expect(JSON.stringify({ m: refused.message, h: refused.hint, s: refused.stack })).not.toContain("Sup3rS3cret");
  });

  it("reports the table and its size in check", async () => {
    await sql(server.url, `ANALYZE ${q("behavioral_events")}`);
    const source = new PostgresSource(
      postgresSourceSpec.parse({ type: "postgres", url: schema.url, table: ["BehavioralEvent", "behavioral_events"] }),
    );
    const info = await source.check({ configDir: dataDir, dataDir, log: silentLogger() });
    expect(info).toContain(`${schema.name}.behavioral_events: 4 columns, ~20 rows`);
  });
});

describe("PostgresSource incremental and parallel export", () => {
  beforeAll(async () => {
    await sql(
      server.url,
      `CREATE TABLE ${q("events")} (id text PRIMARY KEY, "updatedAt" timestamptz NOT NULL, v int);
       INSERT INTO ${q("events")}
       SELECT 'k' || lpad(i::text, 6, '0'), '2024-01-01'::timestamptz + ((i / 10) || ' minutes')::interval, i
         FROM generate_series(1, 5000) i;`,
    );
  });

  it("continues after the (cursor, key) watermark: rows sharing the last cursor value are neither lost nor repeated", async () => {
    const base = { table: "events", cursor: "updatedAt", mode: "incremental" as const };
    const first = await extract(base);
    expect(first.result.rows).toBe(5000);
    expect(first.result.extent).toBe("append");
    const mark = first.result.nextState!.watermark as { cursor: string; key: string[] };
    expect(mark).toMatchObject({ cursor: "2024-01-01 08:20:00+00", key: ["k005000"] });

    // New rows at the watermark's cursor value (keys before and after the last key) and later.
    await sql(
      server.url,
      `INSERT INTO ${q("events")} VALUES ('k004999x', '2024-01-01 08:20:00+00', -1), ('k005000a', '2024-01-01 08:20:00+00', -2),
         ('k9', '2024-01-02', -3);
       UPDATE ${q("events")} SET "updatedAt" = '2024-01-03', v = 0 WHERE id = 'k000001';`,
    );
    const second = await extract(base, { state: first.result.nextState });
    const ids = (await second.rows("SELECT id FROM $REL ORDER BY id")).map((r) => r.id);
    // k004999x sorts before the last key with the same cursor value: it was (correctly) not seen as new —
    // a row inserted "in the past" of the watermark needs `lookback`.
    expect(ids).toEqual(["k000001", "k005000a", "k9"]);
    expect(second.result.nextState!.watermark).toMatchObject({ cursor: "2024-01-03 00:00:00+00", key: ["k000001"] });

    const third = await extract(base, { state: second.result.nextState });
    expect(third.result.rows).toBe(0);
    expect(third.result.nextState).toBeUndefined();

    const late = await extract({ ...base, lookback: "2 days" }, { state: second.result.nextState });
    expect(late.result.rows).toBe(5003);
  });

  it("splits a large table into block ranges on several connections and loses nothing", async () => {
    const { result, rows } = await extract(
      { table: "events", columns: ["id", "v"] },
      { tuning: { rangeBlocks: 2, maxConnections: 3 } },
    );
    const [agg] = await rows("SELECT count(*) AS n, count(DISTINCT id) AS d, sum(v) AS s FROM $REL");
    const [pgAgg] = await sql<{ n: string; s: string }>(
      server.url,
      `SELECT count(*) AS n, sum(v) AS s FROM ${q("events")}`,
    );
    expect(result.rows).toBe(Number(pgAgg!.n));
    expect(agg).toEqual({ n: BigInt(pgAgg!.n), d: BigInt(pgAgg!.n), s: BigInt(pgAgg!.s) });
    expect(readdirSync(join(dataDir, ".tmp")).flatMap((d) => readdirSync(join(dataDir, ".tmp", d)))).toEqual([]);
  });
});
