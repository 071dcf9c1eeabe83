import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresSinkSpec } from "../src/config/spec.js";
import { Engine } from "../src/engine/engine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { PostgresSink } from "../src/sinks/postgres/postgres-sink.js";
import type { SinkOutput } from "../src/sinks/sink.js";
import { projectDir, runCli } from "./support/cli.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";
import { testRunContext } from "./support/run-context.js";

/**
 * The postgres sink through the real CLI (`sluice run` from a file source): exactly once per batch
 * (a retried batch is `held`), upsert by key, a table created from the contract's types, rows the
 * database refuses returned as `rejected` while the rest commits, and a password that never shows.
 */
let server: TestPostgres;
let schema: TestSchema;
/** The server's URL with a password in it (the shared server trusts, so any password connects). */
let url: string;
let password: string;

beforeAll(async () => {
  server = await testPostgres();
  schema = await testSchema(server.url, "pgsink");
  const parsed = new URL(schema.url);
  if (!parsed.password) parsed.password = "Pw-never-shown-7";
  password = decodeURIComponent(parsed.password);
  url = parsed.href;
});
afterAll(async () => {
  await schema?.drop();
  await server?.stop();
});

interface Event {
  id: string;
  code: string;
  amount: number;
  ts: string;
}

function events(n: number, from = 0, code = (i: number) => `c${i % 10}`): Event[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { id: `e${i}`, code: code(i), amount: i, ts: `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}Z` };
  });
}

function project(sink: string, rows: Event[], extra = ""): string {
  const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  ev:
    source: { type: file, path: events.jsonl }
    validation: quarantine
    contract:
      columns:
        id: { type: string, required: true }
        code: { type: string }
        amount: { type: number }
        ts: { type: timestamp }
    retries: { attempts: 2, backoff_seconds: 0 }
${extra}    sinks:
      - ${sink}
`);
  writeRows(dir, rows);
  return dir;
}

function writeRows(dir: string, rows: Event[]): void {
  writeFileSync(join(dir, "events.jsonl"), `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
}

async function run(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; text: string }> {
  const r = await runCli(["run", "--json"], { cwd: dir, env });
  return { code: r.code, text: r.stdout + r.stderr };
}

/** The run records of the project, oldest first. */
function records(dir: string): RunRecord[] {
  const folder = join(dir, "data", "runs", "ev");
  return readdirSync(folder)
    .sort()
    .map((f) => JSON.parse(readFileSync(join(folder, f), "utf8")) as RunRecord);
}

const q = (table: string) => `"${schema.name}"."${table}"`;

describe("postgres sink", () => {
  it("appends a batch once: a retried attempt finds it held; a new run appends again", async () => {
    const dir = project(`{ type: postgres, url: "${url}", table: appended, mode: append }`, events(50));
    // The failpoint fails every attempt after the sink committed: attempt 2 must write nothing.
    const broken = await run(dir, { SLUICE_FAILPOINTS: "after:sink:0=transient" });
    expect(broken.code).not.toBe(0);
    const [first] = records(dir);
    expect(first!.commits?.map((c) => [c.status, c.rows, c.attempt])).toEqual([
      ["written", 50, 1],
      ["held", 0, 2],
    ]);
    const [count] = await sql<{ n: string }>(server.url, `SELECT count(*) AS n FROM ${q("appended")}`);
    expect(Number(count!.n)).toBe(50);
    const batches = await sql<{ batch_id: string; run_id: string }>(
      server.url,
      `SELECT batch_id, run_id FROM ${q("_sluice_batches")} WHERE table_name = 'appended'`,
    );
    expect(batches).toEqual([{ batch_id: first!.batch_id, run_id: first!.run_id }]);

    const ok = await run(dir);
    expect(ok.code).toBe(0);
    const [again] = await sql<{ n: string; ids: string }>(
      server.url,
      `SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${q("appended")}`,
    );
    expect([Number(again!.n), Number(again!.ids)]).toEqual([100, 50]);
  });

  it("upserts by key: one row per key, the latest batch's values, merge dedup probing only the batch's keys", async () => {
    const sink = `{ type: postgres, url: "${url}", table: upserted, mode: upsert }`;
    const dedup = "    dedup: { strategy: merge, key: [id], order_by: ts }\n";
    const dir = project(sink, events(30), dedup);
    expect((await run(dir)).code).toBe(0);
    // Ten changed rows, five new ones; one key twice in the batch (the later ts wins).
    const next = [...events(10, 0, () => "new"), ...events(5, 30)];
    next.push({ ...next[0]!, code: "newer", ts: "2026-01-01T00:01:00Z" });
    writeRows(dir, next);
    const second = await run(dir);
    expect(second.code).toBe(0);
    const rows = await sql<{ n: string; ids: string; new: string; newer: string }>(
      server.url,
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, count(*) FILTER (WHERE code = 'new') AS new,
              count(*) FILTER (WHERE code = 'newer') AS newer FROM ${q("upserted")}`,
    );
    expect(rows.map((r) => [r.n, r.ids, r.new, r.newer].map(Number))).toEqual([[35, 35, 9, 1]]);
    const constraint = await sql<{ def: string }>(
      server.url,
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = '${q("upserted")}'::regclass AND contype = 'p'`,
    );
    expect(constraint).toEqual([{ def: "PRIMARY KEY (id)" }]);
  });

  it("creates the table from the contract's types, lineage columns included", async () => {
    const dir = project(`{ type: postgres, url: "${url}", table: created, mode: append }`, events(3));
    expect((await run(dir)).code).toBe(0);
    const cols = await sql<{ column_name: string; data_type: string }>(
      server.url,
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'created' ORDER BY ordinal_position`,
      [schema.name],
    );
    expect(Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]))).toEqual({
      id: "text",
      code: "text",
      amount: "double precision",
      ts: "timestamp with time zone",
      _run_id: "text",
      _batch_id: "text",
      _processing_type: "text",
      _ingested_at: "timestamp with time zone",
    });
    const [row] = await sql<{ ts: Date; amount: number }>(
      server.url,
      `SELECT ts, amount FROM ${q("created")} WHERE id = 'e2'`,
    );
    expect(row).toEqual({ ts: new Date("2026-01-01T00:00:02Z"), amount: 2 });
  });

  it("rows the table refuses (VARCHAR(5), CHECK) are rejected with the database's message; the rest commits", async () => {
    await sql(
      server.url,
      `CREATE TABLE ${q("strict")} (id text PRIMARY KEY, code varchar(5) NOT NULL, amount numeric(6,1) CHECK (amount <> 13), ts timestamptz,
         _run_id text, _batch_id text, _processing_type text, _ingested_at timestamptz)`,
    );
    // e3: too long; e7: a NULL code (NOT NULL); e13: the CHECK; e21: beyond numeric(6,1).
    const rows = events(25, 0, (i) => (i === 3 ? "toolong" : `c${i}`));
    rows[7] = { ...rows[7]!, code: null as unknown as string };
    rows[21] = { ...rows[21]!, amount: 123456 };
    const dir = project(`{ type: postgres, url: "${url}", table: strict }`, rows);
    const r = await run(dir);
    expect(r.code).toBe(0);
    const [record] = records(dir);
    const out = record!.outputs[0] as SinkOutput;
    expect(out).toMatchObject({ status: "written", rows: 21, rejected: { rows: 4 } });
    const ids = await sql<{ id: string }>(server.url, `SELECT id FROM ${q("strict")} ORDER BY id`);
    expect(ids.map((x) => x.id).sort()).toEqual(
      rows
        .map((x) => x.id)
        .filter((id) => !["e3", "e7", "e13", "e21"].includes(id))
        .sort(),
    );
    expect(r.text).not.toContain(password);
  });

  it("the rejected relation carries the batch's columns and each row's error", async () => {
    await sql(
      server.url,
      `CREATE TABLE ${q("direct")} (id bigint PRIMARY KEY, code varchar(5), v integer CHECK (v >= 0))`,
    );
    const engine = await Engine.open();
    try {
      const ctx = testRunContext(engine, { batchId: "direct-1" });
      await engine.run(
        `CREATE TABLE batch AS SELECT range AS id, CASE WHEN range = 4 THEN 'sixsix' ELSE 'ok' END AS code,
           CASE WHEN range = 8 THEN -1 ELSE range END AS v FROM range(10)
         UNION ALL SELECT 5, 'dup', 5`,
      );
      const sink = new PostgresSink(postgresSinkSpec.parse({ type: "postgres", url, table: "direct" }));
      const out = await sink.write(ctx, "batch", { extent: "append", batchId: "direct-1" }, []);
      expect(out).toMatchObject({ status: "written", rows: 8, rejected: { rows: 3 } });
      const rejected = await engine.all<{ id: bigint; code: string; v: bigint; _error: string }>(
        `SELECT * FROM ${out.rejected!.relation} ORDER BY id, code`,
      );
      expect(rejected.map((x) => [Number(x.id), x.code])).toEqual([
        [4, "sixsix"],
        [5, "dup"],
        [8, "ok"],
      ]);
      expect(rejected[0]!._error).toMatch(/value too long for type character varying\(5\)/);
      expect(rejected[1]!._error).toMatch(/duplicate key value violates unique constraint/);
      expect(rejected[2]!._error).toMatch(/violates check constraint "direct_v_check"/);
      expect(await sink.holds(ctx, "direct-1")).toBe(true);
      expect(await sink.head(ctx)).toBe("direct-1");
      const again = await sink.write(ctx, "batch", { extent: "append", batchId: "direct-1" }, []);
      // Killed after the commit and before its dead letters were kept: the re-run gets them again.
      expect(again).toMatchObject({ status: "held", rows: 0, rejected: { rows: 3 } });
      const kept = await engine.all<{ id: bigint; code: string; v: number; _error: string }>(
        `SELECT * FROM ${again.rejected!.relation} ORDER BY id, code`,
      );
      expect(kept).toEqual(rejected);
      await engine.run("CREATE TABLE probe AS SELECT 4 AS id UNION ALL SELECT 6");
      const existing = await sink.existing(ctx, { relation: "probe", key: ["id"] });
      expect(await engine.all(`SELECT id, code, v FROM ${existing} ORDER BY id`)).toEqual([
        { id: 6n, code: "ok", v: 6 },
      ]);
    } finally {
      engine.close();
    }
  });

  it("never shows the password: not in the record, the output, or a connection error", async () => {
    const dir = project(`{ type: postgres, url: "${url}", table: secret }`, events(5));
    const ok = await run(dir);
    expect(ok.code).toBe(0);
    expect(ok.text).not.toContain(password);
    for (const f of readdirSync(join(dir, "data", "runs", "ev"))) {
      expect(readFileSync(join(dir, "data", "runs", "ev", f), "utf8")).not.toContain(password);
    }
    const refused = new URL(url);
    refused.port = "1";
    const bad = project(`{ type: postgres, url: "${refused.href}", table: secret }`, events(5));
    const failed = await run(bad);
    expect(failed.code).toBe(1);
    expect(failed.text).toMatch(/ECONNREFUSED|connect/);
    expect(failed.text).not.toContain(password);
    const [record] = records(bad);
    expect(record!.attempts).toBe(2);
  });
});
