import { resolve } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { commitDelta } from "./commit-delta.js";
import type { DeltaAction } from "./delta-actions.js";
import type { DeltaFile, DeltaSnapshot } from "./delta-snapshot.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";

/** What `expireDeltaPartitions` did (or, with dryRun, would do). */
export interface ExpireDeltaResult {
  /** The version of the DELETE commit, or the version read when nothing was removed (or dryRun). */
  readonly version: number;
  /** Whether a commit was written. */
  readonly committed: boolean;
  /** The date partition column the cutoff applied to; undefined when the table has none. */
  readonly column?: string;
  /** The partitions removed, as `column=value`, sorted. */
  readonly partitions: readonly string[];
  readonly filesRemoved: number;
}

export interface ExpireDeltaOptions {
  /** 'YYYY-MM-DD' (UTC date): files whose date partition value is before it are removed. */
  readonly before: string;
  /** The date partition column; default: the first partition column of type date, else the first string one whose values are all 'YYYY-MM-DD'. */
  readonly column?: string;
  /** deletionTimestamp of the removes (epoch ms): the run's clock. Default Date.now(). */
  readonly now?: number;
  /** commitInfo.sluiceRunId. */
  readonly runId?: string;
  /** Report what would be removed; commit nothing. */
  readonly dryRun?: boolean;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Retention of a partitioned Delta table: ONE commit (operation DELETE, dataChange true) that
 * `remove`s every live file whose date partition value is before `options.before`.
 *
 * Contract: the snapshot is the latest version; a file whose date value is null (or not a date) is
 * kept; nothing expired means no commit. The commit goes through `commitDelta` (put-if-absent, a
 * concurrent commit that removed one of the same files is a conflict: a transient SluiceError,
 * nothing committed). No data file is deleted here: older versions keep reading them (time travel)
 * until `vacuumDelta` deletes those removed longer ago than its retention. A table without a date
 * partition column is left alone (`column` undefined). Throws `options.before` not 'YYYY-MM-DD'.
 */
export async function expireDeltaPartitions(
  engine: Engine | undefined,
  root: string,
  options: ExpireDeltaOptions,
): Promise<ExpireDeltaResult> {
  if (!DATE.test(options.before)) throw new Error(`expireDeltaPartitions: before=${options.before} is not YYYY-MM-DD`);
  const table = resolve(root);
  const snapshot = await readDeltaSnapshot(table, {}, engine);
  const column = options.column ?? datePartitionColumn(snapshot);
  const none = { version: snapshot.version, committed: false, partitions: [], filesRemoved: 0 };
  if (column === undefined || !snapshot.metadata.partitionColumns.includes(column)) return none;
  const expired = snapshot.files.filter((f) => isBefore(f.partitionValues[column], options.before));
  const partitions = [...new Set(expired.map((f) => `${column}=${f.partitionValues[column]}`))].sort();
  const planned = { version: snapshot.version, committed: false, column, partitions, filesRemoved: expired.length };
  if (expired.length === 0 || options.dryRun) return planned;
  const result = await commitDelta(table, removeActions(expired, options.now ?? Date.now()), {
    readVersion: snapshot.version,
    operation: "DELETE",
    operationParameters: { predicate: JSON.stringify([`${column} < '${options.before}'`]) },
    ...(options.runId ? { runId: options.runId } : {}),
  });
  return { ...planned, version: result.version, committed: result.status === "committed" };
}

/**
 * The partition column retention dates by: the first of type `date`, else the first `string` one
 * whose non-null values in the snapshot are all 'YYYY-MM-DD' (at least one); undefined when none.
 */
export function datePartitionColumn(snapshot: DeltaSnapshot): string | undefined {
  const types = new Map(snapshot.metadata.schema.fields.map((f) => [f.name, f.type]));
  const columns = snapshot.metadata.partitionColumns;
  const typed = columns.find((c) => types.get(c) === "date");
  if (typed !== undefined) return typed;
  return columns.find((c) => {
    if (types.get(c) !== "string") return false;
    const values = snapshot.files.map((f) => f.partitionValues[c]).filter((v) => v !== null && v !== undefined);
    return values.length > 0 && values.every((v) => DATE.test(v));
  });
}

function isBefore(value: string | null | undefined, before: string): boolean {
  return typeof value === "string" && DATE.test(value) && value < before;
}

/** Full removes (extendedFileMetadata: partition values and size, as Spark writes them). */
function removeActions(files: readonly DeltaFile[], now: number): DeltaAction[] {
  return files.map((f) => {
    const remove = {
      path: f.relPath,
      deletionTimestamp: now,
      dataChange: true,
      extendedFileMetadata: true,
      partitionValues: f.partitionValues,
      size: f.size,
    };
    return { remove };
  });
}
