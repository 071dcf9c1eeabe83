import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";

const ANCHOR = "2025-06-01T00:00:00.000Z";
const ANCHOR_MS = Date.parse(ANCHOR);
const DAY_MS = 86_400_000;
const CUID = "^c[a-z0-9]{24}$";
const EVENT_TYPES = [
  "lesson_started",
  "lesson_completed",
  "quiz_answered",
  "card_reviewed",
  "session_started",
  "session_ended",
  "hint_requested",
  "feedback_given",
];
const PHASES = ["baseline_A_1", "intervention_B_1", "baseline_A_2", "intervention_B_2"];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "sluice-generate-"));
}

/** Runs SQL over a file with a fresh DuckDB; `$F` is replaced by the path. */
function query<T = Record<string, unknown>>(file: string, sql: string): Promise<T[]> {
  return duckQuery<T>(sql.replaceAll("$F", `'${file}'`));
}

async function one<T = Record<string, unknown>>(file: string, sql: string): Promise<T> {
  const rows = await query<T>(file, sql);
  return rows[0]!;
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

async function generate(dir: string, args: string[]) {
  const r = await runCli(["generate", ...args], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe("sluice generate behavioral_events", () => {
  it("writes 15 typed columns whose values keep the S1 contract", async () => {
    const dir = tempDir();
    const r = await generate(dir, ["behavioral_events", "--rows", "20000", "--out", "ev.parquet", "--anchor", ANCHOR]);
    expect(r.stderr).toMatch(
      /generated 20,000 behavioral_events rows -> \S*ev\.parquet \(parquet, [\d.]+ MiB\) in [\d.]+ s/,
    );
    expect(r.stdout).toBe("");
    const file = join(dir, "ev.parquet");
    expect(readdirSync(dir)).toEqual(["ev.parquet"]); // written aside, renamed: no leftovers

    const schema = await query<{ column_name: string; column_type: string }>(file, "DESCRIBE SELECT * FROM $F");
    expect(schema.map((c) => [c.column_name, c.column_type])).toEqual([
      ["id", "VARCHAR"],
      ["userId", "VARCHAR"],
      ["sessionId", "VARCHAR"],
      ["eventType", "VARCHAR"],
      ["eventData", "JSON"],
      ["timestamp", "TIMESTAMP WITH TIME ZONE"],
      ["experimentPhase", "VARCHAR"],
      ["lessonId", "VARCHAR"],
      ["cardId", "VARCHAR"],
      ["durationMs", "BIGINT"],
      ["score", "DOUBLE"],
      ["completed", "BOOLEAN"],
      ["deviceType", "VARCHAR"],
      ["createdAt", "TIMESTAMP WITH TIME ZONE"],
      ["updatedAt", "TIMESTAMP WITH TIME ZONE"],
    ]);

    const facts = await one<Record<string, number | bigint | boolean>>(
      file,
      `SELECT count(*) AS n, count(DISTINCT id) AS ids,
        count(*) FILTER (WHERE NOT regexp_full_match(id, '${CUID}')) AS bad_ids,
        count(*) FILTER (WHERE NOT regexp_full_match("userId", '${CUID}') OR NOT regexp_full_match("sessionId", '${CUID}')
          OR NOT regexp_full_match("lessonId", '${CUID}') OR NOT regexp_full_match(coalesce("cardId", 'c000000000000000000000000'), '${CUID}')) AS bad_refs,
        count(*) FILTER (WHERE "eventType" NOT IN (${EVENT_TYPES.map((e) => `'${e}'`).join(", ")})) AS bad_types,
        count(*) FILTER (WHERE "experimentPhase" NOT IN (${PHASES.map((e) => `'${e}'`).join(", ")})) AS bad_phases,
        count(*) FILTER (WHERE "experimentPhase" IS NULL) AS no_phase,
        count(*) FILTER (WHERE "timestamp" >= TIMESTAMPTZ '${ANCHOR}' OR "timestamp" < TIMESTAMPTZ '${ANCHOR}' - INTERVAL 90 DAY) AS outside,
        count(*) FILTER (WHERE "timestamp" > now()) AS future,
        count(*) FILTER (WHERE "durationMs" NOT BETWEEN 0 AND 86400000 OR "durationMs" IS NULL) AS bad_durations,
        count(*) FILTER (WHERE score < 0 OR score > 1) AS bad_scores,
        count(*) FILTER (WHERE ("cardId" IS NULL) <> ("eventType" NOT IN ('card_reviewed', 'quiz_answered', 'hint_requested'))) AS bad_cards,
        count(*) FILTER (WHERE "updatedAt" < "createdAt" OR "createdAt" < "timestamp") AS bad_versions,
        count(*) FILTER (WHERE json_type("eventData") <> 'OBJECT') AS bad_data,
        count(DISTINCT "userId") AS users
      FROM $F`,
    );
    expect(facts).toMatchObject({
      n: 20000n,
      ids: 20000n,
      bad_ids: 0n,
      bad_refs: 0n,
      bad_types: 0n,
      bad_phases: 0n,
      outside: 0n,
      future: 0n,
      bad_durations: 0n,
      bad_scores: 0n,
      bad_cards: 0n,
      bad_versions: 0n,
      bad_data: 0n,
    });
    expect(Number(facts.no_phase)).toBeGreaterThan(0); // users not enrolled
    expect(Number(facts.no_phase)).toBeLessThan(0.15 * 20000);
    expect(Number(facts.users)).toBeGreaterThan(300); // default users: rows / 50 = 400, skewed

    // Rows come in timestamp order, and every session belongs to one user.
    const order = await one<{ backwards: bigint; sessions: bigint; mixed: bigint }>(
      file,
      `SELECT
        (SELECT count(*) FROM (SELECT "timestamp" < lag("timestamp") OVER (ORDER BY file_row_number) AS back
           FROM read_parquet($F, file_row_number = true)) WHERE back) AS backwards,
        (SELECT count(DISTINCT "sessionId") FROM $F) AS sessions,
        (SELECT count(*) FROM (SELECT "sessionId" FROM $F GROUP BY ALL HAVING count(DISTINCT "userId") > 1)) AS mixed`,
    );
    expect(order.backwards).toBe(0n);
    expect(order.mixed).toBe(0n);
    expect(Number(order.sessions)).toBeGreaterThan(20000 / 20);
    expect(Number(order.sessions)).toBeLessThan(20000 / 6);

    // Skewed event types, phases by quarter of the window, and an intervention effect in B.
    const types = await query<{ eventType: string; n: bigint }>(
      file,
      `SELECT "eventType", count(*) AS n FROM $F GROUP BY ALL ORDER BY n DESC`,
    );
    expect(types.map((t) => t.eventType).sort()).toEqual([...EVENT_TYPES].sort());
    expect(types[0]!.eventType).toBe("card_reviewed");
    expect(Number(types[0]!.n)).toBeGreaterThan(3 * Number(types.at(-1)!.n));
    const phases = await query<{ phase: string; lo: number; hi: number }>(
      file,
      `SELECT "experimentPhase" AS phase, min(epoch_ms("timestamp")) AS lo, max(epoch_ms("timestamp")) AS hi
       FROM $F WHERE "experimentPhase" IS NOT NULL GROUP BY ALL ORDER BY lo`,
    );
    expect(phases.map((p) => p.phase)).toEqual(PHASES);
    const start = ANCHOR_MS - 90 * DAY_MS;
    phases.forEach((p, q) => {
      expect(Number(p.lo)).toBeGreaterThanOrEqual(start + (q * 90 * DAY_MS) / 4);
      expect(Number(p.hi)).toBeLessThan(start + ((q + 1) * 90 * DAY_MS) / 4);
    });
    const effect = await one<{ a: number; b: number }>(
      file,
      `SELECT avg(score) FILTER (WHERE "experimentPhase" LIKE 'baseline%') AS a,
              avg(score) FILTER (WHERE "experimentPhase" LIKE 'intervention%') AS b
       FROM $F WHERE "eventType" = 'quiz_answered'`,
    );
    expect(effect.b).toBeGreaterThan(effect.a + 0.03);
  });

  it("gives byte-identical files for the same seed and anchor, different ones for another seed", async () => {
    const dir = tempDir();
    const args = ["behavioral_events", "--rows", "150000", "--anchor", ANCHOR, "--seed", "7"];
    await generate(dir, [...args, "--out", "a.parquet"]);
    await generate(dir, [...args, "--out", "b.parquet"]);
    await generate(dir, [
      "behavioral_events",
      "--rows",
      "150000",
      "--anchor",
      ANCHOR,
      "--seed",
      "8",
      "--out",
      "c.parquet",
    ]);
    await generate(dir, [...args, "--out", "a.csv"]);
    await generate(dir, [...args, "--out", "b.csv"]);
    expect(sha256(join(dir, "a.parquet"))).toBe(sha256(join(dir, "b.parquet")));
    expect(sha256(join(dir, "a.csv"))).toBe(sha256(join(dir, "b.csv")));
    expect(sha256(join(dir, "a.parquet"))).not.toBe(sha256(join(dir, "c.parquet")));
    const [x] = await query<{ same: bigint }>(
      join(dir, "a.parquet"),
      `SELECT count(*) AS same FROM $F a JOIN '${join(dir, "c.parquet")}' c USING (id)`,
    );
    expect(x!.same).toBe(0n);
  });

  it("writes JSONL and CSV that DuckDB reads back with the same rows", async () => {
    const dir = tempDir();
    const common = ["behavioral_events", "--rows", "3000", "--anchor", ANCHOR];
    await generate(dir, [...common, "--out", "ev.parquet"]);
    await generate(dir, [...common, "--out", "ev.jsonl"]);
    await generate(dir, [...common, "--out", "ev.csv"]);
    const firstLine = JSON.parse(readFileSync(join(dir, "ev.jsonl"), "utf8").split("\n")[0]!) as Record<
      string,
      unknown
    >;
    expect(Object.keys(firstLine)).toHaveLength(15);
    expect(firstLine.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(typeof firstLine.eventData).toBe("object");

    const parquet = join(dir, "ev.parquet");
    for (const text of [
      `read_json('${join(dir, "ev.jsonl")}', format = 'newline_delimited')`,
      `read_csv('${join(dir, "ev.csv")}', header = true)`,
    ]) {
      const diff = await one<{ n: bigint; missing: bigint }>(
        parquet,
        `SELECT (SELECT count(*) FROM ${text}) AS n,
           (SELECT count(*) FROM $F p ANTI JOIN ${text} t
              ON t.id = p.id AND t."durationMs"::BIGINT = p."durationMs" AND t."timestamp"::TIMESTAMPTZ = p."timestamp"
              AND t."eventType" = p."eventType") AS missing`,
      );
      expect(diff, text).toEqual({ n: 3000n, missing: 0n });
    }
  });

  it("injects duplicates, late rows, contract breaks and NULLs at the requested rates", async () => {
    const dir = tempDir();
    const rows = 40000;
    const r = await generate(dir, [
      "behavioral_events",
      "--rows",
      String(rows),
      "--anchor",
      ANCHOR,
      "--out",
      "chaos.parquet",
      "--chaos",
      "dup_rate=0.1,out_of_order_rate=0.1,invalid_rate=0.02,missing_rate.userId=0.03",
      "--json",
    ]);
    const summary = JSON.parse(r.stdout) as { rows: number; chaos: { dupRate: number } };
    expect(summary).toMatchObject({ rows, chaos: { dupRate: 0.1 } });
    const file = join(dir, "chaos.parquet");
    const f = await one<Record<string, bigint>>(
      file,
      `SELECT count(*) AS n, count(*) - count(DISTINCT id) AS dups,
        count(*) FILTER (WHERE "eventType" NOT IN (${EVENT_TYPES.map((e) => `'${e}'`).join(", ")})) AS bad_type,
        count(*) FILTER (WHERE "durationMs" < 0) AS negative,
        count(*) FILTER (WHERE "timestamp" > now()) AS future,
        count(*) FILTER (WHERE NOT regexp_full_match(id, '${CUID}')) AS bad_id,
        count(*) FILTER (WHERE score > 1) AS high_score,
        count(*) FILTER (WHERE "userId" IS NULL) AS no_user,
        count(*) FILTER (WHERE "sessionId" IS NULL) AS no_session
      FROM $F`,
    );
    expect(f.n).toBe(BigInt(rows));
    expect(Number(f.dups)).toBeGreaterThan(0.085 * rows);
    expect(Number(f.dups)).toBeLessThan(0.115 * rows);
    for (const kind of ["bad_type", "negative", "future", "bad_id", "high_score"]) {
      expect(Number(f[kind]), kind).toBeGreaterThan(0);
    }
    const broken = Number(f.bad_type + f.negative + f.future + f.bad_id + f.high_score);
    expect(broken).toBeGreaterThan(0.012 * rows);
    expect(broken).toBeLessThan(0.03 * rows);
    expect(Number(f.no_user)).toBeGreaterThan(0.02 * rows);
    expect(Number(f.no_user)).toBeLessThan(0.04 * rows);
    expect(f.no_session).toBe(0n);

    // Late rows sit among later ones; some copies are newer versions (later updatedAt) of their record.
    const late = await one<{ backwards: bigint; newer: bigint }>(
      file,
      `SELECT
        (SELECT count(*) FROM (SELECT "timestamp" < lag("timestamp") OVER (ORDER BY file_row_number) AS back
           FROM read_parquet($F, file_row_number = true)) WHERE back) AS backwards,
        (SELECT count(*) FROM (SELECT id FROM $F GROUP BY id HAVING count(DISTINCT "updatedAt") > 1)) AS newer`,
    );
    expect(Number(late.backwards)).toBeGreaterThan(0.05 * rows);
    expect(Number(late.backwards)).toBeLessThan(0.2 * rows);
    expect(Number(late.newer)).toBeGreaterThan(0.03 * rows);
  });

  it("writes an empty Parquet file with the full schema for --rows 0", async () => {
    const dir = tempDir();
    await generate(dir, ["behavioral_events", "--rows", "0", "--out", "empty.parquet"]);
    const cols = await query(join(dir, "empty.parquet"), "DESCRIBE SELECT * FROM $F");
    expect(cols).toHaveLength(15);
    expect(await one(join(dir, "empty.parquet"), "SELECT count(*) AS n FROM $F")).toEqual({ n: 0n });
  });
});

describe("sluice generate: the other datasets", () => {
  it("transactions (S2)", async () => {
    const dir = tempDir();
    await generate(dir, ["transactions", "--rows", "20000", "--anchor", ANCHOR, "--out", "tx.csv"]);
    const file = join(dir, "tx.csv");
    const f = await one<Record<string, unknown>>(
      file,
      `SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids, count(DISTINCT account_id) AS accounts,
        count(*) FILTER (WHERE amount <= 0) AS bad_amounts,
        count(*) FILTER (WHERE currency NOT IN ('USD', 'EUR', 'GBP', 'CAD', 'JPY', 'AUD')) AS bad_currency,
        count(*) FILTER (WHERE NOT regexp_full_match(mcc::VARCHAR, '\\d{4}')) AS bad_mcc,
        count(DISTINCT merchant) AS merchants,
        count(*) FILTER (WHERE "timestamp" >= TIMESTAMPTZ '${ANCHOR}') AS late,
        count(*) FILTER (WHERE description LIKE 'STARBUCKS STORE #% %') AS starbucks,
        count(DISTINCT mcc) FILTER (WHERE merchant = 'Netflix') AS netflix_mccs,
        max(amount) FILTER (WHERE merchant = 'Netflix') AS netflix_price
      FROM read_csv($F, header = true, types = {'mcc': 'VARCHAR'})`,
    );
    expect(f).toMatchObject({
      n: 20000n,
      ids: 20000n,
      bad_amounts: 0n,
      bad_currency: 0n,
      bad_mcc: 0n,
      late: 0n,
      netflix_mccs: 1n,
      netflix_price: 15.49,
    });
    expect(Number(f.merchants)).toBeGreaterThan(25);
    expect(Number(f.starbucks)).toBeGreaterThan(500);
  });

  it("pubsub (S3): duplicates are redeliveries of the same message", async () => {
    const dir = tempDir();
    await generate(dir, [
      "pubsub",
      "--rows",
      "20000",
      "--anchor",
      ANCHOR,
      "--out",
      "msgs.jsonl",
      "--chaos",
      "dup_rate=0.05..0.15,out_of_order_rate=0.1",
    ]);
    const file = join(dir, "msgs.jsonl");
    const f = await one<Record<string, unknown>>(
      file,
      `SELECT count(*) AS n, count(*) - count(DISTINCT message_id) AS dups,
        count(DISTINCT (message_id, value, created_at, published_at)) = count(DISTINCT message_id) AS identical_copies,
        count(*) FILTER (WHERE NOT json_valid(value) OR json_extract_string(value, '$.type') IS NULL) AS bad_values,
        count(*) FILTER (WHERE partition NOT BETWEEN 0 AND 11) AS bad_partitions,
        count(*) FILTER (WHERE published_at::TIMESTAMPTZ < created_at::TIMESTAMPTZ) AS published_early,
        (SELECT count(*) FROM (SELECT key FROM read_json($F) GROUP BY key HAVING count(DISTINCT partition) > 1)) AS split_keys,
        count(*) FILTER (WHERE NOT regexp_full_match(message_id::VARCHAR, '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}')) AS bad_uuids
      FROM read_json($F)`,
    );
    expect(f).toMatchObject({
      n: 20000n,
      identical_copies: true,
      bad_values: 0n,
      bad_partitions: 0n,
      published_early: 0n,
      split_keys: 0n,
      bad_uuids: 0n,
    });
    expect(Number(f.dups)).toBeGreaterThan(0.04 * 20000);
    expect(Number(f.dups)).toBeLessThan(0.16 * 20000);
  });

  it("customer_events (S4): ts strings mix zone offsets and parse to ordered instants", async () => {
    const dir = tempDir();
    await generate(dir, [
      "customer_events",
      "--rows",
      "20000",
      "--anchor",
      ANCHOR,
      "--out",
      "ce.parquet",
      "--chaos",
      "missing_rate.user_id=0.03",
    ]);
    const file = join(dir, "ce.parquet");
    const styles = await query<{ style: string; n: bigint }>(
      file,
      `SELECT CASE WHEN ts LIKE '%Z' THEN 'Z' WHEN regexp_matches(ts, '[+-]\\d{2}:\\d{2}$') THEN right(ts, 6) ELSE 'naive' END AS style,
         count(*) AS n FROM $F GROUP BY ALL ORDER BY style`,
    );
    expect(styles.map((s) => s.style)).toEqual(["+01:00", "+05:30", "+09:00", "-05:00", "Z", "naive"]);
    const f = await one<Record<string, bigint>>(
      file,
      `WITH parsed AS (
         SELECT *, CASE WHEN regexp_matches(ts, '(Z|[+-]\\d{2}:\\d{2})$') THEN TRY_CAST(ts AS TIMESTAMPTZ)
           ELSE timezone('Europe/Paris', TRY_CAST(ts AS TIMESTAMP)) END AS instant
         FROM read_parquet($F, file_row_number = true))
       SELECT count(*) AS n, count(*) FILTER (WHERE instant IS NULL) AS unparsed,
         count(*) FILTER (WHERE user_id IS NULL) AS no_user,
         (SELECT count(*) FROM (SELECT customer_id FROM parsed WHERE user_id IS NOT NULL GROUP BY ALL HAVING count(DISTINCT user_id) > 1)) AS ambiguous_map,
         count(*) FILTER (WHERE NOT json_valid(properties)) AS bad_json,
         (SELECT count(*) FROM (SELECT instant < lag(instant) OVER (ORDER BY file_row_number) - INTERVAL 2 HOUR AS back FROM parsed) WHERE back) AS backwards
       FROM parsed`,
    );
    expect(f).toMatchObject({ n: 20000n, unparsed: 0n, ambiguous_map: 0n, bad_json: 0n, backwards: 0n });
    expect(Number(f.no_user)).toBeGreaterThan(0.02 * 20000);
    expect(Number(f.no_user)).toBeLessThan(0.04 * 20000);
  });
});

describe("sluice generate: usage errors exit 2 with a hint", () => {
  it.each([
    [
      ["behavioral_event", "--out", "x.parquet"],
      /unknown dataset `behavioral_event`; did you mean `behavioral_events`\?/,
    ],
    [["pubsub", "--out", "x.xlsx"], /unknown output format `\.xlsx`/],
    [["pubsub", "--chaos", "dup_rat=0.1"], /--chaos: unknown key `dup_rat`, did you mean `dup_rate`\?/],
    [["pubsub", "--chaos", "dup_rate=0.7"], /dup_rate: expected a rate between 0 and 0\.5/],
    [["pubsub", "--chaos", "missing_rate.nope=0.1"], /no column `nope`/],
    [["pubsub", "--anchor", "yesterday"], /anchor: `yesterday` is not an ISO date/],
    [["pubsub", "--rows", "ten"], /--rows ten: expected a whole number/],
    [["pubsub", "--out", "ftp://host/x"], /unknown URL scheme `ftp:\/\/`/],
  ])("%j", async (args, message) => {
    const dir = tempDir();
    const r = await runCli(["generate", ...args], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint: /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("defaults to DATASET.jsonl in the working directory", async () => {
    const dir = tempDir();
    await generate(dir, ["pubsub", "--rows", "10"]);
    expect(readdirSync(dir)).toEqual(["pubsub.jsonl"]);
    expect(readFileSync(join(dir, "pubsub.jsonl"), "utf8").trim().split("\n")).toHaveLength(10);
  });
});

describe("sluice generate --out postgres://...?table=NAME", () => {
  let server: TestPostgres;
  let schema: TestSchema;

  beforeAll(async () => {
    server = await testPostgres();
    schema = await testSchema(server.url, "gen_out");
  });
  afterAll(async () => {
    await schema?.drop();
    await server?.stop();
  });

  const out = (table: string) => `${schema.url}&table=${table}`;
  const pg = (args: string[]) => runCli(["generate", "behavioral_events", ...args], { cwd: tempDir() });
  async function table(name: string): Promise<{ n: number; first: string }> {
    const [r] = await sql<{ n: string; first: string }>(
      server.url,
      `SELECT count(*) AS n, min(id) AS first FROM "${schema.name}"."${name}"`,
    );
    return { n: Number(r!.n), first: r!.first };
  }

  it("refuses to drop an existing table unless --replace; --append adds rows to it", async () => {
    expect((await pg(["--rows", "100", "--seed", "1", "--out", out("events")])).code).toBe(0);
    const before = await table("events");
    expect(before.n).toBe(100);

    const refused = await pg(["--rows", "50", "--seed", "2", "--out", out("events")]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`table ${schema.name}.events already exists`);
    expect(refused.stderr).toContain("--replace");
    expect(refused.stderr).toContain("--append");
    expect(await table("events")).toEqual(before);

    const appended = await pg(["--rows", "50", "--seed", "2", "--out", out("events"), "--append"]);
    expect(appended.code, appended.stderr).toBe(0);
    expect((await table("events")).n).toBe(150);

    const replaced = await pg(["--rows", "30", "--seed", "3", "--out", out("events"), "--replace"]);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect((await table("events")).n).toBe(30);

    const both = await pg(["--rows", "30", "--out", out("events"), "--replace", "--append"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--replace.*--append|--append.*--replace/);
    expect((await table("events")).n).toBe(30);
  });

  it("--append refuses a table whose columns differ, naming them", async () => {
    await sql(server.url, `CREATE TABLE "${schema.name}".other (id text PRIMARY KEY, note text)`);
    const r = await pg(["--rows", "10", "--out", out("other"), "--append"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${schema.name}.other`);
    expect(r.stderr).toContain("userId");
    expect(r.stderr).toContain("note");
    expect((await table("other")).n).toBe(0);
  });
});
