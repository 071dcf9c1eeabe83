import { linkSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { ParquetSinkConfig } from "../../config/spec.js";
import { ident, literal } from "../../engine/sql.js";
import { removeQuietly } from "../../util/atomic.js";
import type { SinkContext, WriteIntent } from "../sink.js";
import { copyOptions } from "./copy-options.js";
import { hiveGlob, PARTITIONING_KEY } from "./parquet-scan.js";
import { planPartitions } from "./partition-plan.js";
import { VersionedDir } from "./versioned-dir.js";
import type { LayoutResult } from "./write-snapshot.js";

/**
 * Partitioned layout: Hive folders under `root`
 * (`event_date=2026-03-01/part-<run_id>-0.parquet`), see `planPartitions`.
 *
 * Every write builds the next version of the whole tree aside and publishes
 * it in one rename (`VersionedDir`): one DuckDB `COPY ... PARTITION_BY` of
 * the batch, plus, for `append`, hard links to the files already published
 * (no data is copied). `replace` makes the batch the whole dataset. Readers
 * see the old tree or the new one; a crash leaves the old one, and the next
 * write removes the leftovers. Part files are named after the batch
 * (`part-<batch_id>-<n>.parquet`): a published version holds a batch exactly
 * when it has one of its files, so an append of a batch already held writes
 * nothing (`held`).
 */
export async function writePartitioned(
  ctx: SinkContext,
  relation: string,
  intent: WriteIntent,
  config: ParquetSinkConfig,
  root: string,
): Promise<LayoutResult> {
  mkdirSync(dirname(root), { recursive: true });
  const dir = new VersionedDir(root);
  dir.repair();
  dir.assertOwned();
  const plan = await planPartitions(ctx.engine, relation, config);
  const current = dir.current();
  const files = [hiveGlob(root)];
  const ownPrefix = batchPrefix(intent.batchId);
  if (intent.extent === "append" && current && parquetFiles(current).some((f) => isOwn(f, ownPrefix))) {
    return { written: root, rows: 0, bytes: 0, files, held: true };
  }

  const staged = dir.stage();
  try {
    const options = copyOptions(config, [
      `PARTITION_BY (${plan.columns.map((c) => ident(c.name)).join(", ")})`,
      `FILENAME_PATTERN ${literal(`${ownPrefix}{i}`)}`,
      `KV_METADATA {${PARTITIONING_KEY}: ${literal(JSON.stringify(plan.columns))}}`,
      "OVERWRITE_OR_IGNORE",
    ]);
    const copied = await ctx.engine.one<{ Count: bigint | number }>(
      `COPY (SELECT ${plan.select} FROM ${relation}) TO ${literal(staged)} ${options}`,
      "write",
    );
    const rows = Number(copied?.Count ?? 0);
    const bytes = parquetFiles(staged).reduce((sum, f) => sum + statSync(join(staged, f)).size, 0);

    if (intent.extent === "append" && current) {
      if (rows === 0) {
        removeQuietly(staged);
        return { written: root, rows, bytes, files };
      }
      for (const file of parquetFiles(current)) {
        if (isOwn(file, ownPrefix)) continue;
        mkdirSync(dirname(join(staged, file)), { recursive: true });
        linkSync(join(current, file), join(staged, file));
      }
    }
    dir.commit(staged, ctx.runId);
    return { written: root, rows, bytes, files };
  } catch (err) {
    removeQuietly(staged);
    throw err;
  }
}

/** File-name prefix of a batch's part files: a version holds the batch exactly when it has one. */
export function batchPrefix(batchId: string): string {
  return `part-${batchId}-`;
}

function isOwn(file: string, prefix: string): boolean {
  return (file.split("/").pop() ?? "").startsWith(prefix);
}

/** Whether the published version under `root` holds batch `batchId`. */
export function partitionedHolds(root: string, batchId: string): boolean {
  const current = new VersionedDir(root).current();
  return current !== undefined && parquetFiles(current).some((f) => isOwn(f, batchPrefix(batchId)));
}

/** Visible `.parquet` files under `dir`, as paths relative to it (`event_date=.../part-x-0.parquet`). */
function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of readdirSync(sub, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(sub, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".parquet")) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out;
}
