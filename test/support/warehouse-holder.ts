import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const DUCKDB = pathToFileURL(createRequire(import.meta.url).resolve("@duckdb/node-api")).href;

/**
 * Another process (a user's DuckDB session) that opens the project's warehouse
 * (`<dir>/data/duckdb/analytics.duckdb`) read-write and keeps it open, so sluice finds it locked.
 * Stop it with `release`; the caller also kills leftovers in afterEach.
 */
export async function holdWarehouse(dir: string): Promise<ChildProcess> {
  const warehouse = join(dir, "data", "duckdb", "analytics.duckdb");
  mkdirSync(join(dir, "data", "duckdb"), { recursive: true });
  const script = join(dir, "hold.mjs");
  writeFileSync(
    script,
    `import { DuckDBInstance } from ${JSON.stringify(DUCKDB)};
const db = await DuckDBInstance.create(${JSON.stringify(warehouse)});
await db.connect();
process.stdout.write("ready\\n");
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((ready, fail) => {
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) ready();
    });
    child.on("exit", (code) => fail(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}

/** Stops a holder and waits until it has exited (its lock is gone). */
export async function release(child: ChildProcess): Promise<void> {
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}
