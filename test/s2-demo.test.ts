import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { natsServerBinary, type RestartableBroker, skipMessage, withPrivateNats } from "./support/nats.js";
import { sql, type TestPostgres, testPostgres } from "./support/postgres.js";

// The S2 example as its README runs it (`npm run demo:transactions`, here in a copy of the example, on a
// database of its own and a private nats-server): the batch side (three CSV files, one with malformed
// lines, then a fourth) and the stream side (two producers on payments.tx) classified by the reference
// classifier with injected failures into PostgreSQL, the predictions subject and the dead letters. Every
// record read is accounted for exactly once: in PostgreSQL, quarantined, dead-lettered or a dropped re-send.

const ROOT = resolve(import.meta.dirname, "..");
let pg: TestPostgres;
let nats: RestartableBroker | undefined;
let database: string;
let dir: string;

beforeAll(async () => {
  pg = await testPostgres();
  database = `sluice_demo_${process.pid}`;
  await sql(pg.url, `DROP DATABASE IF EXISTS ${database}`);
  await sql(pg.url, `CREATE DATABASE ${database}`);
  if (natsServerBinary()) nats = await withPrivateNats();
  dir = mkdtempSync(join(tmpdir(), "sluice-s2-demo-"));
  copyFileSync(join(ROOT, "examples", "transactions", "sluice.yaml"), join(dir, "sluice.yaml"));
}, 120_000);

afterAll(async () => {
  await nats?.stop();
  await sql(pg.url, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Totals {
  read: number;
  postgres: number;
  predictions: number;
  quarantined: number;
  dead_lettered: number;
  duplicates_dropped: number;
}

function demo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "scripts", "demo-transactions.ts"), "--json"],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d;
    });
    child.on("error", fail);
    child.on("close", (code) => done({ code, out }));
  });
}

describe("examples/transactions (S2 demo)", () => {
  it("batch and stream: every record read lands once in PostgreSQL, or is quarantined, dead-lettered or a dropped re-send", async (t) => {
    if (!nats) {
      if (process.env.CI) throw new Error(`nats-server missing: ${skipMessage("nats")}`);
      return t.skip(skipMessage("nats"));
    }
    const url = pg.url.replace(/\/[^/?]+(\?|$)/, `/${database}$1`);
    const run = await demo({ SLUICE_DEMO_DIR: dir, DATABASE_URL: url, NATS_URL: nats.url });
    expect(run.code, run.out.slice(-3000)).toBe(0);
    const summary = JSON.parse(run.out.trim().split("\n").at(-1)!) as {
      produced: number;
      batch: Totals;
      stream: Totals;
      postgres: { rows: number; keys: number };
    };
    const { batch, stream } = summary;
    // 3 x 2,000 + 1,000 generated rows and the 2 malformed lines appended to tx-002.csv.
    expect(batch.read).toBe(7002);
    expect(stream.read).toBe(summary.produced);
    for (const side of [batch, stream]) {
      expect(side.postgres + side.quarantined + side.dead_lettered + side.duplicates_dropped).toBe(side.read);
      expect(side.dead_lettered).toBeGreaterThan(0);
      expect(side.predictions).toBe(side.postgres);
    }
    expect(stream.duplicates_dropped).toBeGreaterThan(0);
    expect(summary.postgres).toEqual({
      rows: batch.postgres + stream.postgres,
      keys: batch.postgres + stream.postgres,
    });

    // The malformed lines are quarantined with their file and line.
    const q = await runCli(["quarantine", "transactions_batch", "--json", "--limit", "1000"], { cwd: dir });
    expect(q.code, q.stderr).toBe(0);
    const positions = (JSON.parse(q.stdout) as { rows: { source_pos: string }[] }).rows.map((r) => r.source_pos);
    expect(positions).toEqual(expect.arrayContaining(["landing/tx-002.csv:2002", "landing/tx-002.csv:2003"]));
  }, 300_000);
});
