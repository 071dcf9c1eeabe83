import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ParquetSinkConfig } from "../../config/spec.js";
import {
  appendToDelta,
  type DeltaCompression,
  deltaScanSql,
  readDeltaSnapshot,
  replaceDelta,
} from "../../lake/delta/index.js";
import type { SinkContext, WriteIntent } from "../sink.js";
import { planPartitions } from "./partition-plan.js";
import type { LayoutResult } from "./write-snapshot.js";

const CODECS: Record<ParquetSinkConfig["compression"], DeltaCompression> = {
  snappy: "snappy",
  zstd: "zstd",
  gzip: "gzip",
  none: "uncompressed",
};

/** The Delta `txn` application id under which a batch is committed (version 0: one id per batch). */
export function deltaTxnApp(batchId: string): string {
  return `sluice:${batchId}`;
}

/**
 * `format: delta`: the partitioned layout as a Delta Lake table (src/lake/delta/). An `append` adds
 * the batch's files in one commit; a `replace` removes every active file and adds the batch's in one
 * commit. Either commit carries the txn action `sluice:<batch_id>`, so a retried, rerun or
 * redelivered batch is recognised and writes nothing (`held`). Partition columns are planned as for
 * the Hive layout (`partition_by`, event_date / event_hour from `time_column`). `scan` reads the
 * version just committed (the DuckDB view sink uses it).
 */
export async function writeDelta(
  ctx: Pick<SinkContext, "engine" | "runId" | "tmpName">,
  relation: string,
  intent: WriteIntent,
  config: ParquetSinkConfig,
  root: string,
): Promise<LayoutResult & { readonly scan: string }> {
  const plan = await planPartitions(ctx.engine, relation, config);
  const input = ctx.tmpName("delta_in");
  await ctx.engine.run(`CREATE VIEW ${input} AS SELECT ${plan.select} FROM ${relation}`, "write");
  const options = {
    partitionColumns: plan.columns.map((c) => c.name),
    appId: deltaTxnApp(intent.batchId),
    txnVersion: 0,
    runId: ctx.runId,
    compression: CODECS[config.compression],
  };
  const before = new Set((await activeFiles(root, ctx.engine)).map((f) => f.path));
  const result =
    intent.extent === "append"
      ? await appendToDelta(ctx.engine, root, input, options)
      : await replaceDelta(ctx.engine, root, input, options);
  const snapshot = await readDeltaSnapshot(root, {}, ctx.engine);
  const added = snapshot.files.filter((f) => !before.has(f.path));
  const rows = result.status === "held" ? 0 : (intent.staged?.rows ?? (await ctx.engine.count(relation)));
  return {
    written: root,
    rows,
    bytes: result.status === "held" ? 0 : added.reduce((n, f) => n + f.size, 0),
    files: snapshot.files.map((f) => f.path),
    held: result.status === "held",
    scan: deltaScanSql(snapshot),
  };
}

/** The active files of the table at `root`; none before its first commit. */
async function activeFiles(root: string, engine: SinkContext["engine"]) {
  if (!existsSync(join(root, "_delta_log"))) return [];
  return (await readDeltaSnapshot(root, {}, engine)).files;
}

/** Whether the Delta table at `root` holds batch `batchId` (its txn is in the log). */
export async function deltaHolds(root: string, batchId: string, engine: SinkContext["engine"]): Promise<boolean> {
  if (!existsSync(join(root, "_delta_log"))) return false;
  const snapshot = await readDeltaSnapshot(root, {}, engine);
  return snapshot.txns[deltaTxnApp(batchId)] !== undefined;
}
