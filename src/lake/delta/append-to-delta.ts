import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { commitDelta, type DeltaCommitResult } from "./commit-delta.js";
import type { DeltaAction, DeltaAddAction } from "./delta-actions.js";
import { deltaError } from "./delta-error.js";
import { deltaSchemaFromColumns, writeCast } from "./delta-schema-from-columns.js";
import type { DeltaSnapshot } from "./delta-snapshot.js";
import { listDeltaLog } from "./list-delta-log.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { resolveDataPath } from "./resolve-data-path.js";
import { writeDeltaCheckpoint } from "./write-delta-checkpoint.js";
import { type DeltaCompression, writeDeltaFiles } from "./write-delta-files.js";

export interface DeltaWriteOptions {
  /** Partition columns of a new table; an existing table keeps its own (a different list is an error). */
  readonly partitionColumns?: readonly string[];
  /** Idempotent writer id (txn.appId), e.g. the pipeline name. */
  readonly appId?: string;
  /** The batch's position for appId (txn.version): a run number or stream offset, increasing. */
  readonly txnVersion?: number;
  /** The sluice run id, recorded in commitInfo. */
  readonly runId?: string;
  readonly compression?: DeltaCompression;
  /** A checkpoint is written after every commit whose version is a multiple of this (default 10; 0 = never). */
  readonly checkpointInterval?: number;
}

export interface DeltaWriteResult {
  /** `held`: the table already holds txn (appId, txnVersion); nothing was written. */
  readonly status: "committed" | "held";
  /** The committed version, or (held) the version that holds the txn or was read. */
  readonly version: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  /** The checkpoint version written after this commit, if any. */
  readonly checkpoint?: number;
}

/**
 * Appends a relation's rows to the Delta table at `root` (created on the first write): new data files
 * plus one commit of their `add` actions and a `txn` (appId, txnVersion). Exactly once: when the
 * table's txns already hold appId at txnVersion or later, nothing is written and the result is
 * `held` (also when a concurrent writer commits that txn first). An append never conflicts: a lost
 * race retries at the next version. The schema must match the table's (no evolution yet).
 */
export function appendToDelta(
  engine: Engine,
  root: string,
  relation: string,
  options: DeltaWriteOptions = {},
): Promise<DeltaWriteResult> {
  return writeDelta(engine, root, relation, options, "append");
}

/**
 * Replaces the table's content with the relation (a batch that is the whole dataset): one commit that
 * removes every active file and adds the new ones (the old files stay on disk for time travel until a
 * vacuum). The schema may change. It conflicts (SluiceError, stage "commit") only with a concurrent
 * commit that removed one of the same files; files a concurrent append added survive the overwrite.
 */
export function replaceDelta(
  engine: Engine,
  root: string,
  relation: string,
  options: DeltaWriteOptions = {},
): Promise<DeltaWriteResult> {
  return writeDelta(engine, root, relation, options, "replace");
}

async function writeDelta(
  engine: Engine,
  root: string,
  relation: string,
  options: DeltaWriteOptions,
  mode: "append" | "replace",
): Promise<DeltaWriteResult> {
  const table = resolve(root);
  const snapshot = await readIfTable(table, engine);
  const { appId, txnVersion } = options;
  const held = appId !== undefined && txnVersion !== undefined ? snapshot?.txns[appId] : undefined;
  if (held && txnVersion !== undefined && held.version >= txnVersion) {
    return { status: "held", version: snapshot!.version, filesAdded: 0, filesRemoved: 0 };
  }
  const columns = await engine.columns(relation);
  const schema = deltaSchemaFromColumns(columns.map((c) => ({ name: c.name, type: writeCast(c.type) ?? c.type })));
  const schemaString = JSON.stringify(schema);
  const partitionColumns = snapshot?.metadata.partitionColumns ?? options.partitionColumns ?? [];
  checkPartitionColumns(table, partitionColumns, options.partitionColumns, columns);
  const changesMeta = !snapshot || (mode === "replace" && !sameSchema(snapshot.metadata.schemaString, schemaString));
  if (snapshot && !changesMeta && !sameSchema(snapshot.metadata.schemaString, schemaString)) {
    throw deltaError(
      `the batch's columns do not match the Delta table ${table}: table ${describeSchema(snapshot.metadata.schemaString)}, batch ${describeSchema(schemaString)}`,
      "cast or rename the batch's columns to the table's schema (schema evolution is not supported yet), or replace the table",
      "write",
    );
  }
  const commitId = randomUUID();
  const adds = await writeDeltaFiles(engine, table, relation, {
    columns,
    schema,
    partitionColumns,
    commitId,
    ...(options.compression ? { compression: options.compression } : {}),
  });
  const now = Date.now();
  const actions: DeltaAction[] = [];
  if (!snapshot) actions.push({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } });
  if (changesMeta) {
    actions.push({
      metaData: {
        id: snapshot?.metadata.id ?? randomUUID(),
        format: { provider: "parquet", options: {} },
        schemaString,
        partitionColumns,
        configuration: snapshot?.metadata.configuration ?? {},
        createdTime: snapshot?.metadata.createdTime ?? now,
      } as DeltaAction["metaData"],
    });
  }
  const removes = mode === "replace" ? (snapshot?.files ?? []) : [];
  for (const f of removes) {
    actions.push({
      remove: {
        path: f.relPath,
        deletionTimestamp: now,
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: f.partitionValues,
        size: f.size,
      } as DeltaAction["remove"],
    });
  }
  for (const add of adds) actions.push({ add });
  if (appId !== undefined && txnVersion !== undefined) {
    actions.push({ txn: { appId, version: txnVersion, lastUpdated: now } });
  }
  let result: DeltaCommitResult;
  try {
    result = await commitDelta(table, actions, {
      readVersion: snapshot?.version ?? -1,
      operation: "WRITE",
      operationParameters: {
        mode: mode === "append" ? "Append" : "Overwrite",
        partitionBy: JSON.stringify(partitionColumns),
      },
      ...(options.runId ? { runId: options.runId } : {}),
    });
  } catch (err) {
    removeFiles(table, adds);
    throw err;
  }
  if (result.status === "held") {
    removeFiles(table, adds);
    return { status: "held", version: result.version, filesAdded: 0, filesRemoved: 0 };
  }
  const interval = options.checkpointInterval ?? 10;
  let checkpoint: number | undefined;
  if (interval > 0 && result.version > 0 && result.version % interval === 0) {
    try {
      checkpoint = (await writeDeltaCheckpoint(engine, table, result.version)).version;
    } catch {
      // The commit stands; a missing checkpoint only slows the next open (the next interval writes one).
    }
  }
  return {
    status: "committed",
    version: result.version,
    filesAdded: adds.length,
    filesRemoved: removes.length,
    ...(checkpoint !== undefined ? { checkpoint } : {}),
  };
}

/** The table's latest snapshot, or undefined when `root` holds no Delta table yet. */
async function readIfTable(table: string, engine: Engine): Promise<DeltaSnapshot | undefined> {
  try {
    const listing = await listDeltaLog(table);
    if (listing.commits.size === 0 && listing.checkpoints.length === 0) return undefined;
  } catch {
    return undefined;
  }
  return readDeltaSnapshot(table, {}, engine);
}

function checkPartitionColumns(
  table: string,
  inForce: readonly string[],
  asked: readonly string[] | undefined,
  columns: readonly { name: string }[],
): void {
  if (asked && JSON.stringify(asked) !== JSON.stringify(inForce)) {
    throw deltaError(
      `the Delta table ${table} is partitioned by [${inForce.join(", ")}], not [${asked.join(", ")}]`,
      "use the table's partition columns, or write a new table",
      "write",
    );
  }
  const names = new Set(columns.map((c) => c.name));
  const missing = inForce.filter((p) => !names.has(p));
  if (missing.length > 0) {
    throw deltaError(`the batch has no partition column ${missing.join(", ")}`, "add the column to the batch", "write");
  }
}

/** Same fields (name and type, in order); nullability and metadata are ignored. */
function sameSchema(a: string, b: string): boolean {
  const strip = (s: string) =>
    JSON.stringify(
      (JSON.parse(s) as { fields: { name: string; type: unknown }[] }).fields.map((f) => [f.name, f.type]),
    );
  return strip(a) === strip(b);
}

function describeSchema(schemaString: string): string {
  const fields = (JSON.parse(schemaString) as { fields: { name: string; type: unknown }[] }).fields;
  return `(${fields.map((f) => `${f.name} ${typeof f.type === "string" ? f.type : JSON.stringify(f.type)}`).join(", ")})`;
}

/** Deletes the files of a commit that did not happen (nothing references them). */
function removeFiles(table: string, adds: readonly DeltaAddAction[]): void {
  for (const add of adds) rmSync(resolveDataPath(table, add.path), { force: true });
}
