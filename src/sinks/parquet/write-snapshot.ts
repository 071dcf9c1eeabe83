import { copyFileSync, existsSync, linkSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ParquetSinkConfig } from "../../config/spec.js";
import { literal } from "../../engine/sql.js";
import { asidePath, publish, removeQuietly } from "../../util/atomic.js";
import { sweepTemp } from "../../util/sweep-temp.js";
import type { SinkContext, WriteIntent } from "../sink.js";
import { batchesOf, batchesOption } from "./batch-metadata.js";
import { copyOptions } from "./copy-options.js";

/** What a layout writer reports back to the sink. */
export interface LayoutResult {
  /** Absolute path of the file (snapshot) or folder (partitioned) written. */
  readonly written: string;
  readonly rows: number;
  readonly bytes: number;
  /** Absolute paths (or the hive glob) of the files making up the dataset now. */
  readonly files: readonly string[];
  /** The target already held the batch: nothing was written. */
  readonly held?: boolean;
}

/** `<dataset>_latest.parquet`: the stable name of the newest snapshot. */
export function latestName(dataset: string): string {
  return `${dataset}_latest.parquet`;
}

/**
 * Snapshot layout: writes `<dir>/<dataset>_YYYYMMDD_HHMMSS.parquet` (UTC
 * start time of the run; `_2`, `_3` ... if taken) and points
 * `<dataset>_latest.parquet` at it.
 *
 * A snapshot is always the whole dataset: for `append` it is the previous
 * latest UNION ALL BY NAME the batch. Both files are written under hidden
 * aside names and renamed into place, the snapshot first, so `latest` only
 * ever names a complete snapshot; `latest` is a hard link to the snapshot
 * (a copy where links are not supported). An empty batch still writes a file
 * with the full schema. The file's metadata lists the ids of the batches it
 * holds (`batch-metadata.ts`); an append of a batch `latest` already lists
 * writes nothing (`held`). When the batch is a staged file written with this
 * sink's options (`intent.staged`), the snapshot is a hard link to it: the
 * same bytes, not written twice. Leftovers of crashed writes in `dir` are swept first.
 */
export async function writeSnapshot(
  ctx: SinkContext,
  relation: string,
  intent: WriteIntent,
  config: ParquetSinkConfig,
  dir: string,
  dataset: string,
): Promise<LayoutResult> {
  mkdirSync(dir, { recursive: true });
  const swept = sweepTemp(dir);
  if (swept.length) ctx.log.info(`removed ${swept.length} leftover file(s) of an interrupted write in ${dir}`);

  const latest = join(dir, latestName(dataset));
  const appending = intent.extent === "append" && existsSync(latest);
  const held = appending ? await batchesOf(ctx.engine, latest) : [];
  if (held.includes(intent.batchId)) return { written: latest, rows: 0, bytes: 0, files: [latest], held: true };
  const snapshot = freeName(dir, `${dataset}_${stamp(ctx.startedAt)}`);
  const rows = intent.staged?.rows ?? (await ctx.engine.count(relation));
  const source = appending
    ? `SELECT * FROM read_parquet(${literal(latest)}) UNION ALL BY NAME SELECT * FROM ${relation}`
    : `SELECT * FROM ${relation}`;
  const options = copyOptions(config);
  // The staged file records [batchId] as a replace would (plan/stage-batch.ts): adopted as it is.
  const adopt = !appending && intent.staged?.options === options ? intent.staged.path : undefined;
  const withBatches = copyOptions(config, [batchesOption([...held, intent.batchId])]);

  const aside = asidePath(snapshot);
  try {
    if (!(adopt && linked(adopt, aside))) {
      await ctx.engine.run(`COPY (${source}) TO ${literal(aside)} ${withBatches}`, "write");
    }
    publish(aside, snapshot);
  } catch (err) {
    removeQuietly(aside);
    throw err;
  }
  pointAt(latest, snapshot);
  return { written: snapshot, rows, bytes: statSync(snapshot).size, files: [latest] };
}

/** Hard-links `file` at `aside`; false when the file system refuses (then the caller writes it). */
function linked(file: string, aside: string): boolean {
  try {
    linkSync(file, aside);
    return true;
  } catch {
    return false;
  }
}

/** Replaces `pointer` by a hard link to (or copy of) `target`, in one rename. */
function pointAt(pointer: string, target: string): void {
  const aside = asidePath(pointer);
  try {
    try {
      linkSync(target, aside);
    } catch {
      copyFileSync(target, aside);
    }
    publish(aside, pointer);
  } catch (err) {
    removeQuietly(aside);
    throw err;
  }
}

/** `<stem>.parquet` in `dir`, or `<stem>_2.parquet`, `_3` ... when taken. */
function freeName(dir: string, stem: string): string {
  let path = join(dir, `${stem}.parquet`);
  for (let n = 2; existsSync(path); n++) path = join(dir, `${stem}_${n}.parquet`);
  return path;
}

/** `YYYYMMDD_HHMMSS` in UTC. */
function stamp(at: Date): string {
  const iso = at.toISOString();
  return `${iso.slice(0, 10).replaceAll("-", "")}_${iso.slice(11, 19).replaceAll(":", "")}`;
}
