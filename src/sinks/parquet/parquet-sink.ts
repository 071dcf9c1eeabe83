import { existsSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import type { ParquetSinkConfig } from "../../config/spec.js";
import { alignToBasis } from "../align-to-basis.js";
import type { KeyProbe, Sink, SinkContext, SinkOutput, WriteIntent } from "../sink.js";
import { batchesOf } from "./batch-metadata.js";
import { hiveGlob, parquetScan } from "./parquet-scan.js";
import { VersionedDir } from "./versioned-dir.js";
import { deltaExisting, deltaHead, deltaHolds, writeDelta } from "./write-delta.js";
import { partitionedHolds, writePartitioned } from "./write-partitioned.js";
import { type LayoutResult, latestName, writeSnapshot } from "./write-snapshot.js";

/**
 * Writes the batch as Parquet under `<data_dir>/<path>` (SPEC section 8):
 * `snapshot` layout (a timestamped file of the whole dataset plus
 * `<dataset>_latest.parquet`) or `partitioned` (Hive folders, e.g.
 * `event_date=YYYY-MM-DD/part-<run_id>-<n>.parquet`).
 *
 * Every file appears atomically; readers and globs (`*.parquet`) never see
 * one being written, and a crash at any moment leaves the old or the new
 * dataset, repaired by the next write.
 */
export class ParquetSink implements Sink {
  readonly name: string;
  /** Delta: last batch committed (newest sluice txn). */
  readonly head?: (ctx: SinkContext) => Promise<string | undefined>;

  constructor(private readonly config: ParquetSinkConfig) {
    this.name = `parquet:${config.path}`;
    if (this.incremental) this.head = (ctx) => deltaHead(this.root(ctx), ctx.engine);
  }

  /** A Delta table takes appends and upserts by commit; the other layouts rewrite the dataset. */
  get incremental(): boolean {
    return this.config.format === "delta";
  }

  /** File-name stem of the snapshot layout: `dataset`, default the last segment of `path`. */
  get dataset(): string {
    return this.config.dataset ?? basename(this.config.path);
  }

  async write(ctx: SinkContext, given: string, asked: WriteIntent): Promise<SinkOutput> {
    const root = this.root(ctx);
    const { relation, intent } = await alignToBasis(this, ctx, given, asked);
    if (intent.extent === "upsert" && !this.incremental) {
      throw new Error(`internal: ${this.name} rewrites its dataset and cannot take an upsert`);
    }
    const result: LayoutResult & { scan?: string } =
      this.config.layout === "snapshot"
        ? await writeSnapshot(ctx, relation, intent, this.config, root, this.dataset)
        : this.config.format === "delta"
          ? await writeDelta(ctx, relation, intent, this.config, root)
          : await writePartitioned(ctx, relation, intent, this.config, root);
    return {
      sink: this.name,
      path: relative(ctx.dataDir, result.written).split(sep).join("/"),
      rows: result.rows,
      bytes: result.bytes,
      status: result.held ? "held" : "written",
      files: result.files,
      ...(result.scan ? { scan: result.scan } : {}),
    };
  }

  /** Snapshot: `latest` lists the batch in its metadata; partitioned: a part file of the batch is published. */
  async holds(ctx: SinkContext, batchId: string): Promise<boolean> {
    const root = this.root(ctx);
    if (this.config.format === "delta") return deltaHolds(root, batchId, ctx.engine);
    if (this.config.layout === "partitioned") return partitionedHolds(root, batchId);
    const latest = join(root, latestName(this.dataset));
    return existsSync(latest) && (await batchesOf(ctx.engine, latest)).includes(batchId);
  }

  /**
   * What the target holds now: `read_parquet` of the latest snapshot, or of
   * every file of the partitioned tree (partition columns typed as written,
   * derived ones left out), or a Delta table's latest version (with `probe`:
   * only the rows of the files holding its keys); undefined before the first write.
   */
  async existing(ctx: SinkContext, probe?: KeyProbe): Promise<string | undefined> {
    const root = this.root(ctx);
    if (this.config.format === "delta") return deltaExisting(ctx, root, probe);
    if (this.config.layout === "snapshot") {
      const latest = join(root, latestName(this.dataset));
      return existsSync(latest) ? parquetScan(ctx.engine, [latest], { withDerived: false }) : undefined;
    }
    const dir = new VersionedDir(root);
    // Repaired first: after a crash mid-publish the dataset must not look empty to dedup.
    dir.repair();
    if (!dir.current()) return undefined;
    return parquetScan(ctx.engine, [hiveGlob(root)], { withDerived: false });
  }

  private root(ctx: SinkContext): string {
    return resolve(ctx.dataDir, this.config.path);
  }
}
