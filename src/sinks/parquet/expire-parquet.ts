import { basename, resolve } from "node:path";
import type { ParquetSinkConfig } from "../../config/spec.js";
import type { Engine } from "../../engine/engine.js";
import { expireDeltaPartitions, isDeltaTable, vacuumDelta } from "../../lake/delta/index.js";
import { expirePartitioned } from "./expire-partitioned.js";
import { expireSnapshots } from "./expire-snapshots.js";

const DAY_MS = 86_400_000;

/** What retention removed from one parquet sink (or, with dryRun, would remove). */
export interface SinkRetention {
  /** The sink's name (`parquet:<path>`). */
  readonly sink: string;
  readonly layout: "delta" | "partitioned" | "snapshot";
  /** Partitions dated before this UTC date ('YYYY-MM-DD'), or snapshots older than this instant (ISO), were removed. */
  readonly older_than: string;
  /** The date partition column (partitioned layouts); absent when the dataset has none. */
  readonly column?: string;
  /** Partitions (`column=value`) or snapshot file names removed. */
  readonly removed: readonly string[];
  /** Data files removed from the dataset (Delta: from the latest version; they stay on disk until vacuum). */
  readonly files: number;
  /** Delta: the DELETE commit's version. */
  readonly version?: number;
  /** Delta: data files vacuum deleted afterwards (removed longer ago than its retention). */
  readonly vacuumed?: number;
  /** Why retention could not apply to a dataset that exists (no date partition column, a folder sluice did not publish). */
  readonly skipped?: string;
}

export interface ExpireParquetOptions {
  /** The run's clock (epoch ms; SLUICE_NOW when set). */
  readonly now: number;
  readonly days: number;
  /** The run id: the Delta commit's sluiceRunId, the Hive version's label. */
  readonly runId: string;
  readonly dryRun?: boolean;
}

/**
 * `retention_days` for one parquet sink under `dataDir`: removes what is older than `days` days
 * before `now`.
 *
 * Contract, per layout: `format: delta` — one DELETE commit removing the files of date partitions
 * before the UTC date of `now - days` (`expireDeltaPartitions`), then `vacuumDelta` with its
 * default retention (168 hours, counted on the run's clock but never ahead of the wall clock), so
 * the files just removed stay readable by older versions until they are that old; `partitioned` —
 * the next tree version without those partitions (`expirePartitioned`); `snapshot` — timestamped
 * snapshots older than `now - days` deleted, never the latest (`expireSnapshots`). A dataset not
 * written yet is left alone; one retention cannot apply to says why in `skipped`. Throws what those throw (a Delta conflict, a file system error).
 */
export async function expireParquetSink(
  engine: Engine,
  config: ParquetSinkConfig,
  dataDir: string,
  options: ExpireParquetOptions,
): Promise<SinkRetention> {
  const root = resolve(dataDir, config.path);
  const cutoffMs = options.now - options.days * DAY_MS;
  const before = new Date(cutoffMs).toISOString().slice(0, 10);
  const sink = `parquet:${config.path}`;
  const dryRun = options.dryRun === true;
  if (config.layout === "snapshot") {
    const removed = expireSnapshots(root, config.dataset ?? basename(config.path), { beforeMs: cutoffMs, dryRun });
    const older_than = new Date(cutoffMs).toISOString();
    return { sink, layout: "snapshot", older_than, removed, files: removed.length };
  }
  if (config.format !== "delta") {
    const label = options.runId;
    const r = expirePartitioned(root, {
      before,
      label,
      dryRun,
      ...(config.partition_by ? { partitionBy: config.partition_by } : {}),
    });
    const skipped = r.skipped ? { skipped: r.skipped } : {};
    return {
      sink,
      layout: "partitioned",
      older_than: before,
      ...withColumn(r.column),
      removed: r.partitions,
      files: r.filesRemoved,
      ...skipped,
    };
  }
  if (!isDeltaTable(root)) return { sink, layout: "delta", older_than: before, removed: [], files: 0 };
  const r = await expireDeltaPartitions(engine, root, { before, now: options.now, runId: options.runId, dryRun });
  const result = { sink, layout: "delta" as const, older_than: before, ...withColumn(r.column), removed: r.partitions };
  const skipped = r.column === undefined ? { skipped: "no date partition column in the table" } : {};
  const vacuumNow = Math.min(options.now, Date.now());
  const vacuum = await vacuumDelta(engine, root, { now: vacuumNow, dryRun });
  return {
    ...result,
    files: r.filesRemoved,
    ...(r.committed ? { version: r.version } : {}),
    vacuumed: vacuum.deleted.length,
    ...skipped,
  };
}

function withColumn(column: string | undefined): { column?: string } {
  return column === undefined ? {} : { column };
}
