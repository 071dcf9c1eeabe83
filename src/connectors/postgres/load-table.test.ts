import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "../../../test/support/postgres.js";
import { testRunContext } from "../../../test/support/run-context.js";
import { postgresSourceSpec } from "../../config/spec.js";
import { Engine } from "../../engine/engine.js";
import { PostgresSource } from "../../sources/postgres/postgres-source.js";
import { loadIntoPostgres } from "./load-table.js";

let server: TestPostgres;
let schema: TestSchema;
let engine: Engine;
let dataDir: string;

beforeAll(async () => {
  server = await testPostgres();
  schema = await testSchema(server.url, "pgload_unit");
  engine = await Engine.open();
  dataDir = mkdtempSync(join(tmpdir(), "sluice-pg-load-"));
  await engine.run(`CREATE TABLE src AS SELECT * FROM (VALUES
    ('a1', 'u"1', 'line\none', '', 12::BIGINT, 0.25::DOUBLE, true, TIMESTAMPTZ '2024-05-01 10:00:00.123456+00',
     '{"k": [1, 2]}'::JSON, 12.34::DECIMAL(10,2), ['x', NULL, 'y,"z"', 'back\\slash'], 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, DATE '2024-02-29'),
    ('a2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('a3', '', ',', '"', -1, -0.5, false, TIMESTAMPTZ '1999-12-31 23:59:59+00', '[]'::JSON, -0.01::DECIMAL(10,2), [], NULL, NULL)
  ) AS t("id", "userId", "note", "empty", "durationMs", "score", "completed", "timestamp", "eventData", "amount", "tags", "u", "day")`);
});

afterAll(async () => {
  engine?.close();
  await schema?.drop();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("loadIntoPostgres", () => {
  it("creates the table with mapped types and a primary key on id, and the rows round-trip exactly", async () => {
    const result = await loadIntoPostgres(engine, "src", `${schema.url}&table=BehavioralEvent`, undefined, {
      tmpDir: dataDir,
    });
    expect(result.rows).toBe(3);
    expect(result.description).toMatch(new RegExp(`${schema.name}\\.BehavioralEvent$`));

    const types = await sql<{ column_name: string; data_type: string }>(
      server.url,
      `SELECT column_name, format_type(atttypid, atttypmod) AS data_type
         FROM information_schema.columns c JOIN pg_attribute a
           ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass AND a.attname = c.column_name
        WHERE table_schema = $1 AND table_name = 'BehavioralEvent' ORDER BY ordinal_position`,
      [schema.name],
    );
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.data_type]))).toEqual({
      id: "text",
      userId: "text",
      note: "text",
      empty: "text",
      durationMs: "bigint",
      score: "double precision",
      completed: "boolean",
      timestamp: "timestamp with time zone",
      eventData: "jsonb",
      amount: "numeric(10,2)",
      tags: "text[]",
      u: "uuid",
      day: "date",
    });
    const [pk] = await sql<{ cols: string }>(
      server.url,
      `SELECT string_agg(a.attname, ',') AS cols FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [`"${schema.name}"."BehavioralEvent"`],
    );
    expect(pk!.cols).toBe("id");

    // Read it back with the source: every value equals the original (NULL vs '' included).
    const source = new PostgresSource(
      postgresSourceSpec.parse({ type: "postgres", url: schema.url, table: "BehavioralEvent" }),
    );
    const ctx = testRunContext(engine, { runId: "load-rt", dataDir });
    const back = await source.extract(ctx);
    const diff = await engine.all(
      `SELECT 'missing' AS side, * FROM (SELECT * REPLACE (CAST("eventData" AS VARCHAR) AS "eventData") FROM src
         EXCEPT SELECT * EXCLUDE (_source_pos) REPLACE (CAST("eventData" AS VARCHAR) AS "eventData") FROM ${back.relation})`,
    );
    expect(diff).toEqual([]);
    expect(back.rows).toBe(3);
  });

  it("appends to an existing table, and replaces it atomically", async () => {
    await loadIntoPostgres(engine, "src", schema.url, "events_a", { tmpDir: dataDir });
    await expect(
      loadIntoPostgres(engine, "src", schema.url, "events_a", { tmpDir: dataDir, ifExists: "append" }),
    ).rejects.toThrow(/duplicate key/);
    const [after] = await sql<{ n: string }>(server.url, `SELECT count(*) AS n FROM "${schema.name}".events_a`);
    expect(Number(after!.n)).toBe(3);
    await loadIntoPostgres(engine, "(SELECT * FROM src WHERE id = 'a1')", schema.url, "events_a", { tmpDir: dataDir });
    const [replaced] = await sql<{ n: string }>(server.url, `SELECT count(*) AS n FROM "${schema.name}".events_a`);
    expect(Number(replaced!.n)).toBe(1);
  });

  it("keeps rows with duplicate ids, without a primary key, and says so", async () => {
    const r = await loadIntoPostgres(engine, "(SELECT * FROM src UNION ALL SELECT * FROM src)", schema.url, "dups", {
      tmpDir: dataDir,
    });
    expect(r.rows).toBe(6);
    expect(r.warning).toMatch(/no primary key/);
  });
});
