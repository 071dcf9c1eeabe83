import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ParquetSinkConfig } from "../../config/spec.js";
import { keySetSql } from "../../engine/key-set-sql.js";
import { ident } from "../../engine/sql.js";
import {
  appendToDelta,
  type DeltaCompression,
  type DeltaSnapshot,
  deltaFilesForKeys,
  deltaScanSql,
  latestTxn,
  mergeIntoDelta,
  readDeltaSnapshot,
  replaceDelta,
} from "../../lake/delta/index.js";
import type { KeyProbe, SinkContext, WriteIntent } from "../sink.js";
import { planPartitions } from "./partition-plan.js";
import type { LayoutResult } from "./write-snapshot.js";

const CODECS: Record<ParquetSinkConfig["compression"], DeltaCompression> = {
  snappy: "snappy",
  zstd: "zstd",
  gzip: "gzip",
  none: "uncompressed",
};

const TXN_PREFIX = "sluice:";

/** The Delta `txn` application id under which a batch is committed (version 0: one id per batch). */
export function deltaTxnApp(batchId: string): string {
  return `${TXN_PREFIX}${batchId}`;
}

/** metaData.configuration key listing the partition columns sluice derives (not columns of the rows). */
const DERIVED_KEY = "sluice.derivedPartitionColumns";

/**
 * `format: delta`: the partitioned layout as a Delta Lake table (src/lake/delta/). An `append` adds
 * the batch's files in one commit; an `upsert` rewrites only the files holding the batch's keys
 * (`mergeIntoDelta`); a `replace` removes every active file and adds the batch's in one
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
    configuration: {
      [DERIVED_KEY]: plan.columns
        .filter((c) => c.derived)
        .map((c) => c.name)
        .join(","),
    },
  };
  const result =
    intent.extent === "append"
      ? await appendToDelta(ctx.engine, root, input, options)
      : intent.extent === "upsert" && intent.key?.length
        ? await mergeIntoDelta(ctx.engine, root, input, { ...options, key: intent.key })
        : await replaceDelta(ctx.engine, root, input, options);
  const snapshot = await readDeltaSnapshot(root, {}, ctx.engine);
  const rows = result.status === "held" ? 0 : (intent.staged?.rows ?? (await ctx.engine.count(relation)));
  return {
    written: root,
    rows,
    bytes: result.bytesAdded,
    files: snapshot.files.map((f) => f.path),
    held: result.status === "held",
    scan: deltaScanSql(snapshot),
  };
}

/** Whether the Delta table at `root` holds batch `batchId` (its txn is in the log). */
export async function deltaHolds(root: string, batchId: string, engine: SinkContext["engine"]): Promise<boolean> {
  if (!existsSync(join(root, "_delta_log"))) return false;
  const snapshot = await readDeltaSnapshot(root, {}, engine);
  return snapshot.txns[deltaTxnApp(batchId)] !== undefined;
}

/** The last batch the Delta table at `root` committed (its newest sluice txn), or undefined. */
export async function deltaHead(root: string, engine: SinkContext["engine"]): Promise<string | undefined> {
  if (!existsSync(join(root, "_delta_log"))) return undefined;
  const app = latestTxn(await readDeltaSnapshot(root, {}, engine), TXN_PREFIX);
  return app?.slice(TXN_PREFIX.length);
}

/**
 * The rows the Delta table at `root` holds (undefined before its first commit), without the
 * partition columns sluice derived: all of them, or with `probe` only those of the files that hold
 * one of its keys, copied into a table of the run's engine.
 */
export async function deltaExisting(
  ctx: Pick<SinkContext, "engine" | "tmpName">,
  root: string,
  probe: KeyProbe | undefined,
): Promise<string | undefined> {
  if (!existsSync(join(root, "_delta_log"))) return undefined;
  const snapshot = await readDeltaSnapshot(root, {}, ctx.engine);
  const derived = derivedColumns(snapshot);
  const exclude = derived.length ? ` EXCLUDE (${derived.map(ident).join(", ")})` : "";
  if (!probe) return `(SELECT *${exclude} FROM ${deltaScanSql(snapshot)})`;
  const keys = ctx.tmpName("probe_keys");
  await ctx.engine.run(`CREATE TABLE ${keys} AS SELECT * FROM ${keySetSql(probe.relation, probe.key)}`, "dedup");
  const files = await deltaFilesForKeys(ctx.engine, snapshot, keys, probe.key);
  const on = probe.key.map((k) => `t.${ident(k)} = b.${ident(k)}`).join(" AND ");
  const copy = ctx.tmpName("existing");
  await ctx.engine.run(
    `CREATE TABLE ${copy} AS SELECT *${exclude} FROM ${deltaScanSql({ ...snapshot, files })} AS t SEMI JOIN ${keys} AS b ON ${on}`,
    "dedup",
  );
  return copy;
}

/** Partition columns sluice derived from the time column (recorded at creation; else by name). */
function derivedColumns(snapshot: DeltaSnapshot): string[] {
  const recorded = snapshot.metadata.configuration[DERIVED_KEY];
  const names = snapshot.metadata.partitionColumns;
  if (recorded !== undefined) return recorded.split(",").filter((c) => c !== "" && names.includes(c));
  return names.filter((c) => c === "event_date" || c === "event_hour");
}
