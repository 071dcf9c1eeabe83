import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { ident } from "../../engine/sql.js";
import { commitDelta, type DeltaCommitResult } from "./commit-delta.js";
import type { DeltaAction, DeltaAddAction } from "./delta-actions.js";
import { deltaError } from "./delta-error.js";
import { deltaSchemaFromColumns, writeCast } from "./delta-schema-from-columns.js";
import type { DeltaFile, DeltaSnapshot } from "./delta-snapshot.js";
import { deltaTypeName, duckdbType } from "./delta-types.js";
import { listDeltaLog } from "./list-delta-log.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { refuseLossyCasts } from "./refuse-lossy-casts.js";
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
  /** metaData.configuration of a new table (e.g. which partition columns sluice derives). */
  readonly configuration?: Readonly<Record<string, string>>;
}

export interface DeltaWriteResult {
  /** `held`: the table already holds txn (appId, txnVersion); nothing was written. */
  readonly status: "committed" | "held";
  /** The committed version, or (held) the version that holds the txn or was read. */
  readonly version: number;
  readonly filesAdded: number;
  /** Bytes of the data files this commit added (0 when held). */
  readonly bytesAdded: number;
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
  if (holdsTxn(snapshot, options)) return heldAt(snapshot!.version);
  return writeDeltaVersion(engine, table, snapshot, relation, options, {
    replaceSchema: mode === "replace",
    removes: mode === "replace" ? (snapshot?.files ?? []) : [],
    operation: "WRITE",
    operationParameters: { mode: mode === "append" ? "Append" : "Overwrite" },
  });
}

/** What one version does besides adding the relation's rows as new files. */
export interface VersionPlan {
  /** The relation may change the table's schema (a replace of everything). */
  readonly replaceSchema: boolean;
  /** Live files this version removes. */
  readonly removes: readonly DeltaFile[];
  readonly operation: string;
  readonly operationParameters: Readonly<Record<string, unknown>>;
  /** A concurrent commit that added data files is a conflict (a merge planned without them). */
  readonly conflictOnAdds?: boolean;
}

/**
 * Writes `relation` as new data files and commits them with `plan.removes` and the txn of `options`
 * as the next version after `snapshot` (undefined: creates the table). The schema must match the
 * table's unless `plan.replaceSchema`. Files of a commit that did not happen are deleted.
 */
export async function writeDeltaVersion(
  engine: Engine,
  table: string,
  snapshot: DeltaSnapshot | undefined,
  relation: string,
  options: DeltaWriteOptions,
  plan: VersionPlan,
): Promise<DeltaWriteResult> {
  const conformed = snapshot && !plan.replaceSchema ? await conformedToTable(engine, relation, snapshot) : relation;
  try {
    return await writeVersion(engine, table, snapshot, conformed, options, plan);
  } finally {
    if (conformed !== relation) await engine.run(`DROP VIEW IF EXISTS ${conformed}`, "delta write");
  }
}

async function writeVersion(
  engine: Engine,
  table: string,
  snapshot: DeltaSnapshot | undefined,
  relation: string,
  options: DeltaWriteOptions,
  plan: VersionPlan,
): Promise<DeltaWriteResult> {
  const { appId, txnVersion } = options;
  const columns = await engine.columns(relation);
  const schema = deltaSchemaFromColumns(columns.map((c) => ({ name: c.name, type: writeCast(c.type) ?? c.type })));
  const schemaString = JSON.stringify(schema);
  const partitionColumns = snapshot?.metadata.partitionColumns ?? options.partitionColumns ?? [];
  checkPartitionColumns(table, partitionColumns, options.partitionColumns, columns);
  const changesMeta = !snapshot || (plan.replaceSchema && !sameSchema(snapshot.metadata.schemaString, schemaString));
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
        configuration: snapshot?.metadata.configuration ?? options.configuration ?? {},
        createdTime: snapshot?.metadata.createdTime ?? now,
      } as DeltaAction["metaData"],
    });
  }
  for (const f of plan.removes) {
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
    actions.push({ txn: { appId, version: txnVersion, lastUpdated: nextTxnTime(snapshot, now) } });
  }
  let result: DeltaCommitResult;
  try {
    result = await commitDelta(table, actions, {
      readVersion: snapshot?.version ?? -1,
      operation: plan.operation,
      operationParameters: { ...plan.operationParameters, partitionBy: JSON.stringify(partitionColumns) },
      ...(plan.conflictOnAdds ? { conflictOnAdds: true } : {}),
      ...(options.runId ? { runId: options.runId } : {}),
    });
  } catch (err) {
    removeFiles(table, adds);
    throw err;
  }
  if (result.status === "held") {
    removeFiles(table, adds);
    return heldAt(result.version);
  }
  const checkpoint = await checkpointAfter(engine, table, result.version, options.checkpointInterval ?? 10);
  return {
    status: "committed",
    version: result.version,
    filesAdded: adds.length,
    bytesAdded: adds.reduce((n, a) => n + a.size, 0),
    filesRemoved: plan.removes.length,
    ...(checkpoint !== undefined ? { checkpoint } : {}),
  };
}

/**
 * The relation with the table's column types when it has the table's columns (by name, any order)
 * but other types (a DECIMAL(22,1) batch into a DECIMAL(21,1) column, INTEGER into long, a column
 * NULL in every row): a temp view casting each column to the table's type. A cast that would lose a
 * value is refused before anything is written (refuseLossyCasts). Otherwise the relation as it is
 * (the schema check names the difference).
 */
async function conformedToTable(engine: Engine, relation: string, snapshot: DeltaSnapshot): Promise<string> {
  const columns = await engine.columns(relation);
  const fields = snapshot.metadata.schema.fields;
  const have = new Map(columns.map((c) => [c.name, c.type]));
  if (fields.length !== columns.length || fields.some((f) => !have.has(f.name))) return relation;
  const target = fields.map((f) => ({ name: f.name, type: duckdbType(f.type), delta: deltaTypeName(f.type) }));
  const written = (name: string) => writeCast(have.get(name)!) ?? have.get(name)!;
  if (target.every((t, i) => columns[i]?.name === t.name && written(t.name) === t.type)) return relation;
  const casts = target.filter((t) => written(t.name) !== t.type);
  await refuseLossyCasts(
    engine,
    relation,
    casts.map((t) => ({ column: t.name, from: have.get(t.name)!, to: t.type, delta: t.delta })),
  );
  const view = `__sluice_conformed_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const select = target.map((t) => `CAST(${ident(t.name)} AS ${t.type}) AS ${ident(t.name)}`).join(", ");
  await engine.run(`CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${select} FROM ${relation}`, "delta write");
  return view;
}

/** Whether the table already holds the txn (appId, txnVersion) of `options`. */
export function holdsTxn(snapshot: DeltaSnapshot | undefined, options: DeltaWriteOptions): boolean {
  const { appId, txnVersion } = options;
  if (!snapshot || appId === undefined || txnVersion === undefined) return false;
  const held = snapshot.txns[appId];
  return held !== undefined && held.version >= txnVersion;
}

export function heldAt(version: number): DeltaWriteResult {
  return { status: "held", version, filesAdded: 0, filesRemoved: 0, bytesAdded: 0 };
}

/**
 * txn.lastUpdated: now, but later than every txn the table holds, so the latest txn names the
 * latest batch even when two commits fall in one millisecond (see `latestTxn`).
 */
function nextTxnTime(snapshot: DeltaSnapshot | undefined, now: number): number {
  const latest = Math.max(0, ...Object.values(snapshot?.txns ?? {}).map((t) => t.lastUpdated ?? 0));
  return Math.max(now, latest + 1);
}

/** A checkpoint after `version` when it is a multiple of `interval` (0: never); failures only slow reads. */
async function checkpointAfter(
  engine: Engine,
  table: string,
  version: number,
  interval: number,
): Promise<number | undefined> {
  if (interval <= 0 || version <= 0 || version % interval !== 0) return undefined;
  try {
    return (await writeDeltaCheckpoint(engine, table, version)).version;
  } catch {
    // The commit stands; a missing checkpoint only slows the next open (the next interval writes one).
    return undefined;
  }
}

/** The table's latest snapshot, or undefined when `root` holds no Delta table yet. */
export async function readIfTable(table: string, engine: Engine): Promise<DeltaSnapshot | undefined> {
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
