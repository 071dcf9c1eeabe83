import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery as query } from "./support/duckdb.js";
import { sql, type TestPostgres, testPostgres } from "./support/postgres.js";

const SALT = "e2e-salt-7f3a";
const sha = (v: string) => createHash("sha256").update(`${SALT}${v}`).digest("hex");

// camelCase fields as an application writes them; three spellings of one instant
// (2025-03-01T00:00:00Z), a heartbeat the filter removes and a time that does not parse.
const EVENTS = [
  {
    eventId: "e1",
    userId: "u1",
    eventType: "click",
    email: "alice.secret@example.com",
    ts: "2025-03-01T09:00:00+09:00",
    legacyCustomer: "L1",
  },
  {
    eventId: "e2",
    userId: "u2",
    eventType: "view",
    email: "bob.hidden@example.com",
    ts: "2025-03-01 00:00:00Z",
    legacyCustomer: "L2",
  },
  { eventId: "e3", userId: "u3", eventType: "click", email: null, ts: "2025-03-01T01:00:00", legacyCustomer: "L404" },
  {
    eventId: "e4",
    userId: "u4",
    eventType: "heartbeat",
    email: "hb@example.com",
    ts: "2025-03-01T01:00:00",
    legacyCustomer: "L1",
  },
  {
    eventId: "e5",
    userId: "u5",
    eventType: "click",
    email: "carol.private@example.com",
    ts: "not a time",
    legacyCustomer: "L2",
  },
];
const CLEAR_EMAILS = EVENTS.map((e) => e.email).filter((e): e is string => e !== null);

function project(yaml: string): string {
  const dir = projectDir(yaml, "sluice-transforms-");
  writeFileSync(join(dir, "events.jsonl"), `${EVENTS.map((e) => JSON.stringify(e)).join("\n")}\n`);
  writeFileSync(join(dir, "ids.csv"), "legacy,customer\nL1,CUST-1\nL2,CUST-2\nL2,CUST-DUP\n");
  return dir;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** Every file under data_dir: no clear value in its bytes, and none in any Parquet row read back as text. */
async function expectNoClearText(dataDir: string, values: readonly string[]): Promise<number> {
  const files = filesUnder(dataDir);
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const v of values) expect(bytes.includes(v), `${v} in clear in ${f}`).toBe(false);
  }
  for (const f of files.filter((x) => x.endsWith(".parquet"))) {
    const likes = values.map((v) => `CAST(t AS VARCHAR) LIKE '%${v}%'`).join(" OR ");
    const [row] = await query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet('${f}') t WHERE ${likes}`);
    expect(row?.n, `clear value in a row of ${f}`).toBe(0n);
  }
  return files.length;
}

// The contract names the columns as they are after the transforms.
const contract = (names: "camel" | "snake", email = "min_length: 64, max_length: 64") => {
  const n = (camel: string, snake: string) => (names === "camel" ? camel : snake);
  return `contracts:
  events:
    columns:
      ${n("eventId", "event_id")}: { type: string, required: true }
      ${n("userId", "user_id")}: { type: string, required: true }
      ${n("eventType", "event_type")}: { type: string }
      email: { type: string, ${email} }
      ts: { type: timestamp, required: true }
    extra_columns: keep
`;
};

const transforms = (rename: boolean) => {
  const n = (camel: string, snake: string) => (rename ? snake : camel);
  return `    transforms:
${rename ? "      - { type: rename, case: snake_case }\n" : ""}      - { type: timezone, columns: [ts], source_zone: Europe/Paris }
      - { type: derive, columns: { event_date: "CAST(ts AS DATE)", event_hour: "hour(ts)" } }
      - type: map
        column: ${n("legacyCustomer", "legacy_customer")}
        target: customer_id
        from: { file: ids.csv, key: legacy, value: customer }
        unmapped: flag
      - { type: pii, columns: { email: hash } }
      - { type: filter, where: "${n("eventType", "event_type")} <> 'heartbeat'" }
      - { type: sql, query: "SELECT *, upper(${n("eventType", "event_type")}) AS event_kind FROM input" }
`;
};

const pipeline = (rename: boolean, validation: string, email?: string) => `version: 1
data_dir: ./data
${contract(rename ? "snake" : "camel", email)}
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract: events
    validation: ${validation}
${transforms(rename)}    sinks:
      - { type: parquet, path: raw/events, layout: snapshot, compression: none }
`;

/** What the three written rows must be; `names` picks the column names the contract uses. */
function expectedRows(rename: boolean) {
  const n = (camel: string, snake: string) => (rename ? snake : camel);
  const common = { ts: "2025-03-01T00:00:00Z", event_date: "2025-03-01", event_hour: 0n };
  const row = (
    id: string,
    type: string,
    email: string | null,
    legacy: string,
    customer: string,
    unmapped: boolean,
  ) => ({
    ...common,
    [n("eventId", "event_id")]: id,
    [n("userId", "user_id")]: id.replace("e", "u"),
    [n("eventType", "event_type")]: type,
    email: email === null ? null : sha(email),
    [n("legacyCustomer", "legacy_customer")]: legacy,
    customer_id: customer,
    unmapped,
    event_kind: type.toUpperCase(),
  });
  return [
    row("e1", "click", "alice.secret@example.com", "L1", "CUST-1", false),
    row("e2", "view", "bob.hidden@example.com", "L2", "CUST-2", false),
    row("e3", "click", null, "L404", "L404", true),
  ];
}

async function writtenRows(dir: string, record: RunRecord, rename: boolean) {
  const n = (camel: string, snake: string) => (rename ? snake : camel);
  const out = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
  const unmapped = `_unmapped_${n("legacyCustomer", "legacy_customer")}`;
  return query<Record<string, unknown>>(
    `SELECT * EXCLUDE (ts, event_date, "${unmapped}", _run_id, _batch_id, _processing_type, _ingested_at),
            strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, CAST(event_date AS VARCHAR) AS event_date, "${unmapped}" AS unmapped
     FROM read_parquet('${join(dir, "data", out.path!)}') ORDER BY 1`,
  );
}

describe("sluice run with transforms (file source, contract, Parquet)", () => {
  it("normalizes zones, derives, maps, hashes and filters; only hashed values reach data_dir", async () => {
    const dir = project(pipeline(false, "quarantine"));
    const r = await runCli(["run", "-c", "sluice.yaml", "--json"], { cwd: dir, env: { SLUICE_PII_SALT: SALT } });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.status).toBe("succeeded");
    // 5 extracted = 3 written + 1 quarantined (its ts does not parse) + 1 filtered (the heartbeat).
    expect(record.rows).toMatchObject({ extracted: 5, valid: 3, quarantined: 1, written: 3 });
    expect(await writtenRows(dir, record, false)).toEqual(expectedRows(false));

    // The quarantined row carries its hashed email and its source line.
    expect(record.quarantine_path).toBeDefined();
    const q = await query<{ email: string; pos: string }>(
      `SELECT email, _source_pos AS pos FROM read_parquet('${join(dir, "data", record.quarantine_path!)}')`,
    );
    expect(q).toEqual([{ email: sha("carol.private@example.com"), pos: expect.stringContaining("events.jsonl:5") }]);

    expect(await expectNoClearText(join(dir, "data"), CLEAR_EMAILS)).toBeGreaterThan(2);
  });

  it("a strict failure report shows the hashed value, never the clear one", async () => {
    const dir = project(pipeline(false, "strict", "max_length: 10"));
    const r = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_PII_SALT: SALT } });
    expect(r.code, r.stderr).toBe(3);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.report_path).toBeDefined();
    const reportPath = record.report_path!;
    const report = readFileSync(isAbsolute(reportPath) ? reportPath : join(dir, "data", reportPath), "utf8");
    expect(report).toContain(sha("alice.secret@example.com"));
    await expectNoClearText(join(dir, "data"), CLEAR_EMAILS);
  });

  it("converts camelCase to snake_case before a contract that names the snake_case columns", async () => {
    const dir = project(pipeline(true, "quarantine"));
    const r = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_PII_SALT: SALT } });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows).toMatchObject({ extracted: 5, valid: 3, quarantined: 1, written: 3 });
    expect(await writtenRows(dir, record, true)).toEqual(expectedRows(true));
  });

  it("converts snake_case back to camelCase without a contract", async () => {
    const dir = projectDir(
      `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    transforms:
      - { type: rename, case: snake_case }
      - { type: derive, columns: { event_kind: "upper(event_type)" } }
      - { type: rename, case: camelCase }
    sinks:
      - { type: parquet, path: raw/events }
`,
      "sluice-transforms-",
    );
    writeFileSync(join(dir, "events.jsonl"), '{"user_id":"u1","eventType":"click","HTTPStatus":200}\n');
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const out = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
    const rows = await query<Record<string, unknown>>(
      `SELECT * EXCLUDE (_run_id, _batch_id, _processing_type, _ingested_at) FROM read_parquet('${join(dir, "data", out.path!)}')`,
    );
    expect(rows).toEqual([{ userId: "u1", eventType: "click", httpStatus: 200n, eventKind: "CLICK" }]);
  });

  it("never writes the clear text of a malformed line when a pii step is configured", async () => {
    const dir = project(pipeline(false, "quarantine"));
    // A truncated record: the file source cannot parse it, so it bypasses the transforms.
    writeFileSync(
      join(dir, "events.jsonl"),
      `${readFileSync(join(dir, "events.jsonl"), "utf8")}{"eventId":"e6","email":"dave.malformed@example.com"\n`,
    );
    const r = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_PII_SALT: SALT } });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows).toMatchObject({ extracted: 6, quarantined: 2, written: 3 });
    await expectNoClearText(join(dir, "data"), [...CLEAR_EMAILS, "dave.malformed@example.com"]);
  });

  it("fails with exit 2 and says which variable to set when the salt is missing", async () => {
    const dir = project(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    transforms:
      - { type: pii, columns: { email: hash } }
    sinks:
      - { type: parquet, path: raw/events }
`);
    const env = { ...process.env };
    delete env.SLUICE_PII_SALT;
    const r = await runCli(["run"], { cwd: dir, env: { ...env, SLUICE_PII_SALT: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SLUICE_PII_SALT is not set");
    expect(r.stderr).toContain("export SLUICE_PII_SALT=");
  });

  it("names an unknown rename column with a did-you-mean (exit 2)", async () => {
    const dir = project(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    transforms:
      - { type: rename, columns: { eventTyp: event_type } }
    sinks:
      - { type: parquet, path: raw/events }
`);
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no column `eventTyp` in the batch; did you mean `eventType`?");
  });
});

describe("sluice run: map through a PostgreSQL table", () => {
  const table = `sluice_e2e_map_${randomBytes(4).toString("hex")}`;
  let server: TestPostgres;
  let PG_URL: string;

  beforeAll(async () => {
    server = await testPostgres();
    PG_URL = server.url;
    await sql(PG_URL, `CREATE TABLE "${table}" (user_ref text PRIMARY KEY, account_id bigint)`);
    await sql(PG_URL, `INSERT INTO "${table}" VALUES ('u1', 501), ('u2', 502), ('u4', 504), ('u5', 505)`);
  });
  afterAll(async () => {
    if (PG_URL) await sql(PG_URL, `DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
    await server?.stop();
  });

  it("adds the mapped id in source order, flagging the user the table does not know", async () => {
    const dir = project(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    transforms:
      - type: map
        column: userId
        target: accountId
        from: { table: ${table}, key: user_ref, value: account_id }
      - { type: pii, columns: { email: drop } }
    sinks:
      - { type: parquet, path: raw/events }
`);
    const r = await runCli(["run", "--json"], { cwd: dir, env: { DATABASE_URL: PG_URL } });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const out = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
    const file = join(dir, "data", out.path!);
    const rows = await query<Record<string, unknown>>(
      `SELECT "eventId", "userId", "accountId", "_unmapped_userId" AS unmapped FROM read_parquet('${file}')`,
    );
    expect(rows).toEqual([
      { eventId: "e1", userId: "u1", accountId: "501", unmapped: false },
      { eventId: "e2", userId: "u2", accountId: "502", unmapped: false },
      { eventId: "e3", userId: "u3", accountId: "u3", unmapped: true },
      { eventId: "e4", userId: "u4", accountId: "504", unmapped: false },
      { eventId: "e5", userId: "u5", accountId: "505", unmapped: false },
    ]);
    const cols = await query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    expect(cols.map((c) => c.column_name)).not.toContain("email");
  });
});
