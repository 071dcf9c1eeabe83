import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadIntoPostgres } from "../src/connectors/postgres/load-table.js";
import { Engine } from "../src/engine/engine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { generateDataset } from "../src/sources/generate/generate-dataset.js";
import { CLI, type CliResult, projectDir, runCli } from "./support/cli.js";
import {
  type EmbeddedServer,
  sql,
  startEmbeddedPostgres,
  type TestPostgres,
  type TestSchema,
  testPostgres,
  testSchema,
} from "./support/postgres.js";

/** The 15 columns of the generated behavioral_events dataset, as the S1 table holds them. */
const COLUMNS = [
  "id",
  "userId",
  "sessionId",
  "eventType",
  "eventData",
  "timestamp",
  "experimentPhase",
  "lessonId",
  "cardId",
  "durationMs",
  "score",
  "completed",
  "deviceType",
  "createdAt",
  "updatedAt",
];
/**
 * The instant the runs take as now (SLUICE_NOW) and the generated events end at: window runs of these
 * tests extract the same rows at any time of day.
 */
const NOW = "2025-06-01T00:00:00.000Z";
const EXAMPLE = join(import.meta.dirname, "..", "examples", "behavioral-events", "sluice.yaml");

let server: TestPostgres;
const schemas: TestSchema[] = [];

beforeAll(async () => {
  server = await testPostgres();
});

afterAll(async () => {
  for (const s of schemas) await s.drop().catch(() => undefined);
  await server?.stop();
});

async function freshSchema(url = server.url): Promise<TestSchema> {
  const s = await testSchema(url, "pgsrc_cli");
  if (url === server.url) schemas.push(s);
  return s;
}

/** Generates `rows` behavioral events and loads them into `table` with sluice's own loader. */
async function loadEvents(url: string, table: string, rows: number, seed = 7): Promise<void> {
  const engine = await Engine.open();
  try {
    await generateDataset(engine, { dataset: "behavioral_events", rows: Math.max(rows, 1), seed, anchor: NOW }, "g");
    await loadIntoPostgres(engine, rows === 0 ? "(SELECT * FROM g WHERE false)" : "g", url, table);
  } finally {
    engine.close();
  }
}

/** The parts of the example config the tests change. */
interface ExampleConfig {
  data_dir: string;
  warehouse: string;
  pipelines: {
    behavioral_events: { source: Record<string, unknown>; retries: { attempts: number; backoff_seconds: number } };
  };
}

/**
 * A project directory holding the example S1 pipeline (examples/behavioral-events/sluice.yaml),
 * with `change` applied to the parsed config.
 */
function s1Project(change: (config: ExampleConfig) => void = () => {}): string {
  const config = parse(readFileSync(EXAMPLE, "utf8")) as ExampleConfig;
  change(config);
  return projectDir(stringify(config), "sluice-pg-cli-");
}

async function run(
  dir: string,
  url: string,
  args: string[] = [],
  now = NOW,
): Promise<{ cli: CliResult; record: RunRecord }> {
  const cli = await runCli(["run", "-c", join(dir, "sluice.yaml"), "--json", ...args], {
    cwd: dir,
    env: { DATABASE_URL: url, SLUICE_NOW: now },
  });
  let record: RunRecord;
  try {
    record = JSON.parse(cli.stdout) as RunRecord;
  } catch {
    throw new Error(`no run record on stdout (exit ${cli.code}):\n${cli.stdout}\n${cli.stderr}`);
  }
  return { cli, record };
}

async function duck<T = Record<string, unknown>>(file: string, query: string): Promise<T[]> {
  const db = await DuckDBInstance.create(file.endsWith(".duckdb") ? file : ":memory:", {
    ...(file.endsWith(".duckdb") ? { access_mode: "READ_ONLY" } : {}),
  });
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(query.replaceAll("$FILE", file))).getRowObjectsJS() as T[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

const warehouse = (dir: string) => join(dir, "data", "duckdb", "analytics.duckdb");

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("sluice run: PostgreSQL source (S1)", () => {
  it("exports an empty table as an empty Parquet file with the full schema and an empty DuckDB table", async () => {
    const schema = await freshSchema();
    await loadEvents(schema.url, "BehavioralEvent", 0);
    const dir = s1Project();
    const { cli, record } = await run(dir, schema.url);
    expect(cli.code, cli.stderr).toBe(0);
    expect(record.status).toBe("succeeded");
    expect(record.rows).toMatchObject({ extracted: 0, valid: 0, written: 0 });
    expect(cli.stderr).toMatch(/no rows in .*BehavioralEvent/);

    const parquet = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
    const file = join(dir, "data", parquet.path!);
    const described = await duck<{ column_name: string; column_type: string }>(file, "DESCRIBE SELECT * FROM '$FILE'");
    expect(described.map((c) => c.column_name).slice(0, 15)).toEqual(COLUMNS);
    expect(Object.fromEntries(described.map((c) => [c.column_name, c.column_type]))).toMatchObject({
      id: "VARCHAR",
      eventData: "JSON",
      timestamp: "TIMESTAMP WITH TIME ZONE",
      durationMs: "BIGINT",
      score: "DOUBLE",
      completed: "BOOLEAN",
    });
    expect(await duck(file, "SELECT count(*) AS n FROM '$FILE'")).toEqual([{ n: 0n }]);

    const [table] = await duck<{ n: bigint }>(warehouse(dir), "SELECT count(*) AS n FROM research.behavioral_events");
    expect(table!.n).toBe(0n);
    const cols = await duck<{ column_name: string }>(warehouse(dir), "DESCRIBE research.behavioral_events");
    expect(cols.map((c) => c.column_name)).toEqual(expect.arrayContaining(COLUMNS));
  });

  it("uses the second candidate name when the first does not exist, and fails listing them when none does", async () => {
    const schema = await freshSchema();
    await loadEvents(schema.url, "behavioral_events", 500);
    const dir = s1Project();
    const { cli, record } = await run(dir, schema.url);
    expect(cli.code, cli.stderr).toBe(0);
    expect(record.source).toMatch(new RegExp(`${schema.name}\\.behavioral_events$`));
    expect(record.rows).toMatchObject({ extracted: 500, valid: 500, written: 500 });
    const parquet = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
    expect(await duck(join(dir, "data", parquet.path!), "SELECT count(DISTINCT id) AS n FROM '$FILE'")).toEqual([
      { n: 500n },
    ]);

    const empty = await freshSchema();
    const failed = await run(s1Project(), empty.url);
    expect(failed.cli.code).toBe(1);
    expect(failed.record.status).toBe("failed");
    expect(failed.record.attempts).toBe(1);
    expect(failed.record.error!.message).toContain('"BehavioralEvent", "behavioral_events"');
    expect(failed.record.error!.message).toContain(`schema ${empty.name}`);
  });

  it("window: counts `days` back from SLUICE_NOW, so a run extracts the same rows at any time of day", async () => {
    const schema = await freshSchema();
    await loadEvents(schema.url, "BehavioralEvent", 3000);
    const t = `"${schema.name}"."BehavioralEvent"`;
    // Half a day after the generated events end: the window (90 days) starts half a day after they start.
    const now = "2025-06-01T12:00:00.000Z";
    const [expected] = await sql<{ n: string }>(
      server.url,
      `SELECT count(*) AS n FROM ${t} WHERE "timestamp" >= '${now}'::timestamptz - interval '90 days'`,
    );
    expect(Number(expected!.n)).toBeLessThan(3000);
    expect(Number(expected!.n)).toBeGreaterThan(2900);
    const first = await run(s1Project(), schema.url, [], now);
    expect(first.cli.code, first.cli.stderr).toBe(0);
    expect(first.record.rows.extracted).toBe(Number(expected!.n));
    const again = await run(s1Project(), schema.url, [], now);
    expect(again.record.rows.extracted).toBe(Number(expected!.n));

    const week = await run(s1Project(), schema.url, ["--days", "7"], now);
    const [lastWeek] = await sql<{ n: string }>(
      server.url,
      `SELECT count(*) AS n FROM ${t} WHERE "timestamp" >= '${now}'::timestamptz - interval '7 days'`,
    );
    expect(week.record.rows.extracted).toBe(Number(lastWeek!.n));

    const bad = await runCli(["run", "-c", join(s1Project(), "sluice.yaml")], {
      env: { DATABASE_URL: schema.url, SLUICE_NOW: "yesterday" },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("SLUICE_NOW");
  });

  it("incremental: the next run exports exactly the new and changed rows, and the DuckDB table equals the source", async () => {
    const schema = await freshSchema();
    await loadEvents(schema.url, "BehavioralEvent", 2000);
    const t = `"${schema.name}"."BehavioralEvent"`;
    const dir = s1Project((c) => {
      Object.assign(c.pipelines.behavioral_events.source, { cursor: "updatedAt", mode: "incremental" });
      delete c.pipelines.behavioral_events.source.days;
    });
    const first = await run(dir, schema.url);
    expect(first.cli.code, first.cli.stderr).toBe(0);
    expect(first.record.rows.extracted).toBe(2000);
    const mark = (first.record.state as { watermark: { cursor: string; key: string[] } }).watermark;
    const [last] = await sql<{ id: string; cursor: string }>(
      server.url,
      `SET TimeZone = 'UTC'; SELECT id, "updatedAt"::text AS cursor FROM ${t} ORDER BY "updatedAt" DESC, id COLLATE "C" DESC LIMIT 1`,
    );
    expect(mark).toMatchObject({ cursor: last!.cursor, key: [last!.id] });

    // Two new rows share the last exported cursor value (with later ids), one is later; five rows change.
    await sql(
      server.url,
      `INSERT INTO ${t}
       SELECT 'c' || repeat('z', 23) || n::text, "userId", "sessionId", "eventType", "eventData", "timestamp",
              "experimentPhase", "lessonId", "cardId", "durationMs", score, completed, "deviceType", "createdAt",
              CASE WHEN n < 3 THEN "updatedAt" ELSE "updatedAt" + interval '2 minutes' END
         FROM ${t}, (VALUES (1), (2), (3)) AS v(n) WHERE id = '${last!.id}';
       UPDATE ${t} SET score = 0.5, "updatedAt" = (SELECT max("updatedAt") FROM ${t}) + interval '1 minute'
        WHERE id IN (SELECT id FROM ${t} WHERE id NOT LIKE 'czz%' ORDER BY id LIMIT 5);`,
    );
    const second = await run(dir, schema.url);
    expect(second.cli.code, second.cli.stderr).toBe(0);
    expect(second.record.rows.extracted).toBe(8);

    const source = await sql<{ id: string; score: number | null; us: string }>(
      server.url,
      `SELECT id, score, (extract(epoch FROM "updatedAt") * 1000000)::int8::text AS us FROM ${t} ORDER BY id COLLATE "C"`,
    );
    const target = await duck<{ id: string; score: number | null; us: string }>(
      warehouse(dir),
      `SELECT id, score, CAST(epoch_us("updatedAt") AS VARCHAR) AS us FROM research.behavioral_events ORDER BY id`,
    );
    expect(target.length).toBe(2003);
    expect(target).toEqual(source);

    const third = await run(dir, schema.url);
    expect(third.cli.code, third.cli.stderr).toBe(0);
    expect(third.record.rows.extracted).toBe(0);
    expect(third.record.state ?? second.record.state).toEqual(second.record.state);
  });

  it("never shows the URL's password: not on stdout or stderr, not in any file under data_dir", async () => {
    const schema = await freshSchema();
    await loadEvents(schema.url, "BehavioralEvent", 300);
    const role = `sluice_pw_${Math.random().toString(36).slice(2, 10)}`;
    const password = `S3cr3t_${Math.random().toString(36).slice(2, 10)}!x`;
    await sql(
      server.url,
      `CREATE ROLE ${role} LOGIN PASSWORD '${password}';
       GRANT USAGE ON SCHEMA "${schema.name}" TO ${role};
       GRANT SELECT ON ALL TABLES IN SCHEMA "${schema.name}" TO ${role};`,
    );
    try {
      const u = new URL(schema.url);
      u.username = role;
      u.password = password;
      const url = u.href;
      const dir = s1Project();
      const ok = await run(dir, url);
      expect(ok.cli.code, ok.cli.stderr).toBe(0);
      expect(ok.record.source).toContain(`postgres://${role}:***@`);

      const bad = s1Project((c) => {
        c.pipelines.behavioral_events.source.table = ["NoSuchTable"];
        c.data_dir = join(dir, "data");
        c.warehouse = warehouse(dir);
      });
      const failed = await run(bad, url);
      expect(failed.cli.code).toBe(1);
      expect(failed.record.error!.message).toContain(`postgres://${role}:***@`);

      const check = await runCli(["check", "-c", join(dir, "sluice.yaml")], { cwd: dir, env: { DATABASE_URL: url } });
      expect(check.stdout).toContain("BehavioralEvent");

      const secrets = [password, encodeURIComponent(password)];
      for (const text of [
        ok.cli.stdout,
        ok.cli.stderr,
        failed.cli.stdout,
        failed.cli.stderr,
        check.stdout,
        check.stderr,
      ]) {
        for (const s of secrets) expect(text).not.toContain(s);
      }
      const files = filesUnder(join(dir, "data"));
      expect(files.length).toBeGreaterThan(3);
      for (const f of files) {
        const bytes = readFileSync(f);
        for (const s of secrets) expect(bytes.includes(Buffer.from(s)), `${f} holds the password`).toBe(false);
      }
    } finally {
      await sql(server.url, `DROP OWNED BY ${role}; DROP ROLE ${role};`);
    }
  });
});

describe("sluice run: PostgreSQL stopped in the middle of an export", () => {
  let pg: EmbeddedServer;
  let url: string;
  const ROWS = 20_000;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres();
    const schema = await testSchema(pg.url, "pgsrc_chaos");
    url = schema.url;
    await loadEvents(url, "BehavioralEvent", ROWS);
    // A view that yields its rows slowly (0.1 s pause every ~1000 rows): the export takes about two seconds.
    await sql(
      pg.url,
      `SET search_path TO "${schema.name}";
       CREATE FUNCTION slow_gate(id text) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN IF abs(hashtext(id)) % 1000 = 0 THEN PERFORM pg_sleep(0.1); END IF; RETURN true; END $$;
       CREATE VIEW events_slow AS SELECT * FROM "BehavioralEvent" WHERE slow_gate(id);`,
    );
  });

  afterAll(async () => {
    await pg?.destroy();
  });

  /** The S1 pipeline reading the slow view incrementally, with the given retry policy. */
  function project(attempts: number, backoff: number): string {
    return s1Project((c) => {
      const p = c.pipelines.behavioral_events;
      Object.assign(p.source, { table: ["events_slow"], cursor: "updatedAt", key: ["id"], mode: "incremental" });
      delete p.source.days;
      p.retries = { attempts, backoff_seconds: backoff };
    });
  }

  /** Starts `sluice run --full` in the background; resolves with its result when it exits. */
  function background(dir: string): { child: ChildProcess; done: Promise<{ code: number | null; record: RunRecord }> } {
    const child = spawn(process.execPath, [CLI, "run", "-c", join(dir, "sluice.yaml"), "--json", "--full"], {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const done = new Promise<{ code: number | null; record: RunRecord }>((resolve, reject) => {
      child.on("close", (code) => {
        try {
          resolve({ code, record: JSON.parse(stdout) as RunRecord });
        } catch {
          reject(new Error(`no run record (exit ${code}):\n${stdout}\n${stderr}`));
        }
      });
    });
    return { child, done };
  }

  /** Waits until sluice's COPY is running on the private server; returns its backend pid. */
  async function copyRunning(): Promise<number> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const rows = await sql<{ pid: number }>(
        pg.url,
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'sluice' AND state = 'active' AND query LIKE 'COPY%'`,
      ).catch(() => []);
      if (rows.length) return rows[0]!.pid;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("the export never started");
  }

  const parquetFiles = (dir: string) => filesUnder(join(dir, "data", "raw")).map((f) => `${f}:${statSync(f).mtimeMs}`);
  const stateOf = (dir: string) => {
    const f = join(dir, "data", "state", "behavioral_events.json");
    return existsSync(f) ? readFileSync(f, "utf8") : undefined;
  };

  it("retries when its connection is terminated, and completes", async () => {
    const dir = project(3, 0.2);
    const { done } = background(dir);
    const pid = await copyRunning();
    await new Promise((r) => setTimeout(r, 300));
    await sql(pg.url, "SELECT pg_terminate_backend($1)", [pid]);
    const { code, record } = await done;
    expect(code).toBe(0);
    expect(record.status).toBe("succeeded");
    expect(record.attempts).toBeGreaterThanOrEqual(2);
    expect(record.rows.extracted).toBe(ROWS);
    const parquet = record.outputs.find((o) => o.sink.startsWith("parquet"))!;
    expect(await duck(join(dir, "data", parquet.path!), "SELECT count(DISTINCT id) AS n FROM '$FILE'")).toEqual([
      { n: BigInt(ROWS) },
    ]);
  });

  it("fails after the configured attempts when the server stays down: no partial output, watermark unchanged", async () => {
    const dir = project(3, 0.2);
    const first = await background(dir).done;
    expect(first.code).toBe(0);
    const stateBefore = stateOf(dir);
    expect(stateBefore).toContain("watermark");
    const filesBefore = parquetFiles(dir);

    const { done } = background(dir);
    await copyRunning();
    await new Promise((r) => setTimeout(r, 300));
    await pg.stop();
    try {
      const { code, record } = await done;
      expect(code).toBe(1);
      expect(record.status).toBe("failed");
      expect(record.attempts).toBe(3);
      expect(record.error!.component).toBe("source:postgres");
      expect(stateOf(dir)).toBe(stateBefore);
      expect(parquetFiles(dir)).toEqual(filesBefore);
      expect(filesUnder(join(dir, "data", ".tmp"))).toEqual([]);
    } finally {
      await pg.start();
    }
  });

  it("completes once the server is back within the retries", async () => {
    const dir = project(6, 0.5);
    const { done } = background(dir);
    await copyRunning();
    await new Promise((r) => setTimeout(r, 300));
    await pg.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await pg.start();
    const { code, record } = await done;
    expect(code).toBe(0);
    expect(record.status).toBe("succeeded");
    expect(record.attempts).toBeGreaterThanOrEqual(2);
    expect(record.rows.extracted).toBe(ROWS);
  });
});
