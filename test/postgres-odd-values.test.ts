import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";

// PostgreSQL holds values DuckDB cannot (a timestamp before year 1 as PostgreSQL writes it, `... BC`).
// A run that meets one must say which column and value, and what to do — not DuckDB's CSV internals.

let server: TestPostgres;
let schema: TestSchema;

beforeAll(async () => {
  server = await testPostgres();
  schema = await testSchema(server.url, "odd_values");
  await sql(
    server.url,
    `CREATE TABLE "${schema.name}".events (id int PRIMARY KEY, a text, b text, c text, d int, e int, f int, g int,
       "happenedAt" timestamptz, span interval);
     INSERT INTO "${schema.name}".events
       SELECT n, 'a', 'b', 'c', n, n, n, n, '2025-01-01'::timestamptz + n * interval '1 hour', interval '1 day'
         FROM generate_series(1, 500) AS n;
     UPDATE "${schema.name}".events SET "happenedAt" = '0044-03-15 12:00:00+00 BC' WHERE id = 250;`,
  );
});
afterAll(async () => {
  await schema?.drop();
  await server?.stop();
});

function project(source: string): string {
  return projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source:
      type: postgres
      url: "\${DATABASE_URL}"
${source}
    validation: "off"
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/events }
`);
}

describe("sluice run: a PostgreSQL value DuckDB cannot hold", () => {
  it("fails naming the column, the value and what to do (cast it in `query`, or quarantine it)", async () => {
    const dir = project("      table: events\n      mode: full");
    const r = await runCli(["run", "-c", join(dir, "sluice.yaml"), "--json"], {
      cwd: dir,
      env: { DATABASE_URL: schema.url },
    });
    expect(r.code).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    const error = `${record.error!.message}\n${record.error!.hint ?? ""}`;
    expect(error).toContain('"happenedAt"');
    expect(error).toContain("0044-03-15 12:00:00+00 BC");
    expect(error).toContain("cast it in `query`");
    expect(error).toContain("contract rule that quarantines it");
    expect(error).not.toMatch(/\bc8\b/);
    expect(error).not.toContain("sample_size");
    expect(record.attempts).toBe(1);
    expect(record.error!.message).toContain("id=250");
  });

  it("a BC date fails too, instead of arriving as the same day AD", async () => {
    await sql(
      server.url,
      `CREATE TABLE "${schema.name}".days (id int PRIMARY KEY, day date);
      INSERT INTO "${schema.name}".days VALUES (1, '2025-01-01'), (2, '0044-03-15 BC');`,
    );
    const dir = project("      table: days\n      mode: full");
    const r = await runCli(["run", "-c", join(dir, "sluice.yaml"), "--json"], { env: { DATABASE_URL: schema.url } });
    expect(r.code).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.error!.message).toContain('column "day" holds 0044-03-15 BC (id=2)');
  });

  it("following the hint (read it as text, let the contract quarantine it) loads every other row", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
contracts:
  ev: { columns: { id: { type: integer }, happenedAt: { type: timestamp } } }
pipelines:
  events:
    source:
      type: postgres
      url: "\${DATABASE_URL}"
      query: SELECT id, "happenedAt"::text AS "happenedAt" FROM events
    contract: ev
    validation: quarantine
    sinks:
      - { type: parquet, path: raw/events }
`);
    const r = await runCli(["run", "-c", join(dir, "sluice.yaml"), "--json"], { env: { DATABASE_URL: schema.url } });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows).toMatchObject({ extracted: 500, valid: 499, quarantined: 1 });
  });
});
