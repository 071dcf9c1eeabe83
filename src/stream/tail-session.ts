import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Engine } from "../engine/engine.js";
import { removeQuietly, writeFileAtomic } from "../util/atomic.js";
import {
  checkPredicate,
  DEFAULT_SAMPLE,
  ERROR_FILE,
  HEARTBEAT_MS,
  outputDir,
  requestPath,
  type TailRequest,
  tailDir,
} from "./tail-request.js";

const POLL_MS = 250;

/** What a tail session yields: a row (a JSON line a worker wrote) or the predicate's error. */
export type TailItem = { readonly row: string } | { readonly error: string };

/** Why `where` cannot be a tail predicate (stream/tail-request.ts checkPredicate), or undefined. */
export async function tailPredicateProblem(where: string): Promise<string | undefined> {
  const engine = await Engine.open();
  try {
    return await checkPredicate(engine, where);
  } finally {
    engine.close();
  }
}

/**
 * The reading side of a tail (`sluice tail`, the dashboard's live tail; the files are described in
 * tail-request.ts): publishes a TailRequest for `pipeline` under `<data_dir>/tail/`, touches it every
 * HEARTBEAT_MS, and yields the rows the stream workers write for it (JSON lines) until `signal`
 * aborts, the caller stops iterating, or a worker reports the predicate failing (one `error` item,
 * then the end). Removes the request and its folder when it ends, so workers stop sampling at once.
 * `where` must have passed tailPredicateProblem.
 */
export async function* tailSession(
  dataDir: string,
  pipeline: string,
  options: { readonly where?: string | undefined; readonly sample?: number },
  signal: AbortSignal,
): AsyncGenerator<TailItem> {
  const { where } = options;
  const dir = tailDir(dataDir, pipeline);
  const id = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const out = outputDir(dir, id);
  const request: TailRequest = {
    id,
    pid: process.pid,
    host: hostname(),
    ...(where ? { where } : {}),
    sample: options.sample ?? DEFAULT_SAMPLE,
    started_at: new Date().toISOString(),
  };
  mkdirSync(out, { recursive: true });
  writeFileAtomic(requestPath(dir, id), `${JSON.stringify(request)}\n`);
  let beat = Date.now();
  try {
    while (!signal.aborted) {
      if (Date.now() - beat > HEARTBEAT_MS) {
        beat = Date.now();
        const now = new Date();
        utimesSync(requestPath(dir, id), now, now);
      }
      const files = existsSync(out) ? readdirSync(out).filter((f) => !f.startsWith(".")) : [];
      if (files.includes(ERROR_FILE)) {
        const { message } = JSON.parse(readFileSync(join(out, ERROR_FILE), "utf8")) as { message: string };
        yield { error: message };
        return;
      }
      for (const file of files.sort()) {
        const path = join(out, file);
        const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
        removeQuietly(path);
        for (const row of lines) yield { row };
      }
      if (files.length === 0) await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    removeQuietly(requestPath(dir, id));
    // A worker may be renaming a file in as we remove the folder: try again.
    rmSync(out, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}
