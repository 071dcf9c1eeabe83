import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { naturalOrder } from "../contracts/quarantine-file.js";
import { ident, literal } from "../engine/sql.js";
import { SOURCE_POS } from "../engine/system-columns.js";
import type { RunContext } from "../plan/batch-context.js";
import type { BatchTap, TappedBatch } from "../plan/verdict-rows.js";
import { publish, removeQuietly } from "../util/atomic.js";
import {
  checkPredicate,
  ERROR_FILE,
  MAX_BACKLOG,
  outputDir,
  parseRequest,
  STALE_MS,
  type TailRequest,
  tailDir,
} from "./tail-request.js";

/** Output files of this process, numbered (several taps may serve one tail in a millisecond). */
let written = 0;

/**
 * The stream worker's side of `sluice tail` (files in stream/tail-request.ts): pass the returned tap
 * as `onValidated` in the options of each micro-batch's runOnce. Per micro-batch it lists the
 * pipeline's tail requests (one readdir; nothing else when there are none) and, for each live one,
 * copies at most `sample` rows of the batch matching its predicate (a reservoir sample when more
 * match), after transforms and with their contract verdict, as JSON lines into the tail's folder
 * (written aside, renamed in). A tail that is gone is cleaned up; a predicate that fails is reported
 * to the tail (`error.json`); nothing here fails the batch (the plan logs what a tap throws).
 */
export function tailTap(dataDir: string, pipeline: string): BatchTap {
  const dir = tailDir(dataDir, pipeline);
  const host = hostname();
  // What checkPredicate said of each predicate seen (a tail keeps its predicate for its life).
  const checked = new Map<string, string | undefined>();
  return async (ctx, batch) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // no tail has ever run for this pipeline
    }
    for (const name of names) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      try {
        const request = live(dir, name, host);
        if (!request) continue;
        const file = `${String(Date.now()).padStart(15, "0")}-${process.pid}-${++written}.jsonl`;
        await serve(ctx, batch, request, outputDir(dir, request.id), file, checked);
      } catch (err) {
        ctx.log.warn(`tail ${name}: ${err instanceof Error ? err.message : String(err)} (the batch is not affected)`);
      }
    }
  };
}

/** The request in `dir/name` if its tail is still there (else its files are removed), and wants rows. */
function live(dir: string, name: string, host: string): TailRequest | undefined {
  const path = join(dir, name);
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(path, "utf8");
    mtime = statSync(path).mtimeMs;
  } catch {
    return undefined; // removed meanwhile
  }
  const request = parseRequest(text);
  if (!request) return undefined;
  const out = outputDir(dir, request.id);
  if (Date.now() - mtime > STALE_MS || (request.host === host && !alive(request.pid))) {
    removeQuietly(path);
    removeQuietly(out);
    return undefined;
  }
  if (!existsSync(out) || existsSync(join(out, ERROR_FILE))) return undefined;
  const unread = readdirSync(out).filter((f) => !f.startsWith(".")).length;
  return unread >= MAX_BACKLOG ? undefined : request;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function serve(
  ctx: RunContext,
  batch: TappedBatch,
  request: TailRequest,
  out: string,
  file: string,
  checked: Map<string, string | undefined>,
): Promise<void> {
  const where = request.where;
  if (where !== undefined) {
    if (!checked.has(where)) {
      if (checked.size >= 100) checked.clear();
      checked.set(where, await checkPredicate(ctx.engine, where));
    }
    const problem = checked.get(where);
    if (problem) return fail(out, `--where ${problem}`);
  }
  if (batch.rows === 0) return;
  const relation = await batch.relation();
  const matching = `SELECT * FROM ${relation}${where === undefined ? "" : ` WHERE (${where}\n)`}`;
  const sampled = `SELECT * FROM (${matching}) USING SAMPLE reservoir(${request.sample} ROWS)`;
  const order = ` ORDER BY ${naturalOrder(`${ident(SOURCE_POS)}::VARCHAR`)}`;
  const target = join(out, file);
  // Aside in the tail's folder, never creating it: a tail that stopped meanwhile gets nothing back.
  const aside = join(out, `.${file}.tmp`);
  try {
    await ctx.engine.run(`COPY (SELECT * FROM (${sampled})${order}) TO ${literal(aside)} (FORMAT json)`, "tail");
  } catch (err) {
    removeQuietly(aside);
    if (!existsSync(out)) return; // the tail stopped meanwhile
    // With a predicate, a failure is the predicate's (an unknown column, a type mismatch): the tail says so.
    if (where !== undefined) return fail(out, `--where failed on batch ${batch.batchId}: ${firstLine(err)}`);
    throw err;
  }
  if (statSync(aside).size === 0) return removeQuietly(aside);
  publish(aside, target);
}

/** Tells the tail its predicate failed (written aside and renamed in; nothing if the tail is gone). */
function fail(out: string, message: string): void {
  const aside = join(out, `.${ERROR_FILE}.tmp-${process.pid}`);
  try {
    writeFileSync(aside, `${JSON.stringify({ message })}\n`);
    publish(aside, join(out, ERROR_FILE));
  } catch {
    removeQuietly(aside);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}
