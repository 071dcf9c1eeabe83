import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { ident, literal } from "../../engine/sql.js";
import type { SinkContext } from "../sink.js";

/**
 * Attaches the DuckDB file `file` to the run's engine under a fresh alias,
 * runs `fn` with that alias, and detaches afterwards whatever happens, so the
 * file's lock is held only for the duration of `fn`. Read-write attaches
 * create the file (and its folder) when missing.
 */
export async function withWarehouse<T>(
  ctx: SinkContext,
  file: string,
  opts: { readOnly: boolean },
  fn: (alias: string) => Promise<T>,
): Promise<T> {
  if (!opts.readOnly) mkdirSync(dirname(file), { recursive: true });
  const alias = ctx.tmpName("wh");
  await ctx.engine.run(`ATTACH ${literal(file)} AS ${ident(alias)}${opts.readOnly ? " (READ_ONLY)" : ""}`, "sync");
  const detach = () => ctx.engine.run(`DETACH ${ident(alias)}`, "sync");
  let result: T;
  try {
    result = await fn(alias);
  } catch (err) {
    // The first error is the one worth reporting; a failing detach must not hide it.
    await detach().catch(() => undefined);
    throw err;
  }
  await detach();
  return result;
}

/**
 * Runs `fn` inside one transaction of the engine: committed when it returns,
 * rolled back when it throws (the attached warehouse keeps its previous
 * state).
 */
export async function inTransaction(ctx: SinkContext, fn: () => Promise<void>): Promise<void> {
  await ctx.engine.run("BEGIN TRANSACTION", "sync");
  try {
    await fn();
    await ctx.engine.run("COMMIT", "sync");
  } catch (err) {
    await ctx.engine.run("ROLLBACK", "sync").catch(() => undefined);
    throw err;
  }
}

/** The process holding a DuckDB file's lock, from DuckDB's "Conflicting lock is held in X (PID n)" message. */
export interface LockHolder {
  readonly pid: string | undefined;
  readonly program: string | undefined;
}

/** The lock holder named in a DuckDB error, or undefined when the error is not a lock conflict. */
export function lockHolder(err: unknown): LockHolder | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (!/Could not set lock on file/i.test(message)) return undefined;
  const held = /Conflicting lock is held in (.*?) \(PID (\d+)\)/.exec(message);
  return { program: held?.[1], pid: held?.[2] };
}

/** `another process (PID 123, /usr/bin/node)`, or `another process` when DuckDB did not name it. */
export function describeHolder(holder: LockHolder): string {
  if (!holder.pid) return "another process";
  return `another process (PID ${holder.pid}${holder.program ? `, ${holder.program}` : ""})`;
}

/** What a catalog entry of the attached warehouse is: a table, a view, or absent. */
export async function entryKind(
  ctx: SinkContext,
  alias: string,
  schema: string,
  name: string,
): Promise<"table" | "view" | undefined> {
  const row = await ctx.engine.one<{ table_type: string }>(
    `SELECT table_type FROM information_schema.tables WHERE table_catalog = ${literal(alias)} AND table_schema = ${literal(schema)} AND table_name = ${literal(name)}`,
    "sync",
  );
  if (!row) return undefined;
  return row.table_type === "VIEW" ? "view" : "table";
}
