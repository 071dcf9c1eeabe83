import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";

const generate = `version: 1
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 10 }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: timestamp }
    sinks:
      - type: parquet
        path: raw/behavioral_events
        layout: partitioned
        partition_by: [event_date]
      - type: duckdb
        table: behavioral_events
        mode: table
        order_by: timestamp
        indexes: [[userId, timestamp]]
`;

describe("sluice check: column names the config uses", () => {
  it("passes when every name exists (derived event_date included)", async () => {
    const r = await runCli(["check"], { cwd: projectDir(generate) });
    expect(r.stdout).not.toContain("which the source does not have");
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("names each missing column with the source's columns and a suggestion (generate)", async () => {
    const yaml = generate
      .replace("partition_by: [event_date]", "partition_by: [evnt_date, userid]")
      .replace("order_by: timestamp }", "order_by: timestmp }")
      .replace("indexes: [[userId, timestamp]]", "indexes: [[userId, tiemstamp]]");
    const r = await runCli(["check"], { cwd: projectDir(yaml) });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(
      /pipeline events: dedup\.order_by names column "timestmp", which the source does not have \(columns: id, userId, .*\); did you mean "timestamp"\?/,
    );
    expect(r.stdout + r.stderr).toContain('partition_by names column "userid"');
    expect(r.stdout + r.stderr).toContain('did you mean "userId"?');
    expect(r.stdout + r.stderr).toContain('indexes names column "tiemstamp"');
    expect(r.stdout + r.stderr).toMatch(/partition_by names column "evnt_date", which .*; did you mean "event_date"\?/);
  });

  it("reads a file source's columns and follows renames by transforms", async () => {
    const dir = projectDir(`version: 1
pipelines:
  files:
    source: { type: file, path: in.jsonl }
    validation: "off"
    transforms:
      - { type: rename, columns: { ts: event_time } }
    dedup: { strategy: bronze_append, key: [evt_id] }
    sinks:
      - { type: parquet, path: raw/files, layout: partitioned, partition_by: [ts], time_column: event_time }
`);
    writeFileSync(join(dir, "in.jsonl"), '{"event_id": "a", "ts": "2024-01-05T00:00:00Z"}\n');
    const r = await runCli(["check"], { cwd: dir });
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toContain(
      'pipeline files: dedup.key names column "evt_id", which the source does not have (columns: event_id, event_time); did you mean "event_id"?',
    );
    expect(out).toContain('pipeline files: partition_by names column "ts", which the source does not have');
    expect(out).not.toContain('time_column names column "event_time"');
  });
});

describe("sluice check: a postgres source's columns", () => {
  let pg: TestPostgres;
  let schema: TestSchema;
  beforeAll(async () => {
    pg = await testPostgres();
    schema = await testSchema(pg.url, "check_columns");
    await sql(pg.url, `CREATE TABLE "${schema.name}".events (id text PRIMARY KEY, "updatedAt" timestamptz, kind text)`);
  });
  afterAll(async () => {
    await schema?.drop();
    await pg?.stop();
  });

  it("checks the names against the table's columns", async () => {
    const yaml = (orderBy: string) => `version: 1
pipelines:
  events:
    source: { type: postgres, url: "${schema.url}", table: events, mode: full }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: ${orderBy} }
    sinks:
      - { type: parquet, path: raw/events }
`;
    const ok = await runCli(["check"], { cwd: projectDir(yaml("updatedAt")) });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = await runCli(["check"], { cwd: projectDir(yaml("updated_at")) });
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(
      /dedup\.order_by names column "updated_at", which the source does not have \(columns: id, updatedAt, kind\); did you mean "updatedAt"\?/,
    );
  });
});
