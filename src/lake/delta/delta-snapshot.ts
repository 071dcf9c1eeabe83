import type { DeltaProtocol } from "./delta-actions.js";
import type { DeltaSchema } from "./delta-types.js";

/** One live data file of a snapshot (an `add` that no later `remove` cancelled). */
export interface DeltaFile {
  /** Absolute local path: the log's path decoded once (RFC 2396) and resolved against the table root. */
  readonly path: string;
  /** The path exactly as written in the log (URI-encoded, relative to the root or an absolute URI). */
  readonly relPath: string;
  /** Partition column -> serialized value; null (or absent) is a null value. */
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number;
  readonly modificationTime: number;
  /** The parsed `stats` JSON (numRecords, minValues, maxValues, nullCount), or undefined. */
  readonly stats?: Record<string, unknown>;
  readonly dataChange: boolean;
}

/** The table's metaData in force at the snapshot's version. */
export interface DeltaMetadata {
  readonly id: string;
  readonly name?: string;
  readonly schemaString: string;
  readonly schema: DeltaSchema;
  readonly partitionColumns: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly createdTime?: number;
}

/**
 * A Delta table as of one version: what the log says, nothing read from the data files yet.
 * `files` are the live adds in no particular order.
 */
export interface DeltaSnapshot {
  readonly root: string;
  readonly version: number;
  readonly protocol: DeltaProtocol;
  readonly metadata: DeltaMetadata;
  readonly files: readonly DeltaFile[];
  /** appId -> the latest txn of that application (idempotent writers' commit marks). */
  readonly txns: Readonly<Record<string, { version: number; lastUpdated?: number }>>;
  /** The commitInfo of this version's commit, when its JSON commit is present and has one. */
  readonly commitInfo?: Readonly<Record<string, unknown>>;
  /** The checkpoint the replay started from, or undefined when it replayed JSON from version 0. */
  readonly checkpointVersion?: number;
}
