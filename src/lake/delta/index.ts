/** The Delta Lake table reader (log replay to a snapshot, a DuckDB relation over its files) and writer (append, replace, commits, checkpoints, retention). */

export { appendToDelta, type DeltaWriteOptions, type DeltaWriteResult, replaceDelta } from "./append-to-delta.js";
export { checkDeltaProtocol, SUPPORTED_READER_VERSION } from "./check-delta-protocol.js";
export {
  commitDelta,
  commitPath,
  type DeltaCommitOptions,
  type DeltaCommitResult,
  ENGINE_INFO,
} from "./commit-delta.js";
export { type CompactResult, compactDelta, isDeltaTable } from "./compact-delta.js";
export type { DeltaAction, DeltaAddAction, DeltaProtocol } from "./delta-actions.js";
export { deltaFilesForKeys } from "./delta-files-for-keys.js";
export { createDeltaView, type DeltaScanOptions, deltaScanSql } from "./delta-scan-sql.js";
export { deltaSchemaFromColumns } from "./delta-schema-from-columns.js";
export type { DeltaFile, DeltaMetadata, DeltaSnapshot } from "./delta-snapshot.js";
export type { DeltaField, DeltaSchema, DeltaType } from "./delta-types.js";
export { deltaTypeName, duckdbType } from "./delta-types.js";
export {
  datePartitionColumn,
  type ExpireDeltaOptions,
  type ExpireDeltaResult,
  expireDeltaPartitions,
} from "./expire-delta-partitions.js";
export { latestTxn } from "./latest-txn.js";
export { type DeltaMergeOptions, type DeltaMergeResult, mergeIntoDelta } from "./merge-into-delta.js";
export { type DeltaReadOptions, readDeltaSnapshot } from "./read-delta-snapshot.js";
export { type VacuumResult, vacuumDelta } from "./vacuum-delta.js";
export { checkpointPath, writeDeltaCheckpoint } from "./write-delta-checkpoint.js";
export type { DeltaCompression } from "./write-delta-files.js";
