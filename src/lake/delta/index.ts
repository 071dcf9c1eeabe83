/** The Delta Lake table reader: log replay to a snapshot, and a DuckDB relation over its files. */

export { checkDeltaProtocol, SUPPORTED_READER_VERSION } from "./check-delta-protocol.js";
export type { DeltaAction, DeltaAddAction, DeltaProtocol } from "./delta-actions.js";
export { createDeltaView, type DeltaScanOptions, deltaScanSql } from "./delta-scan-sql.js";
export type { DeltaFile, DeltaMetadata, DeltaSnapshot } from "./delta-snapshot.js";
export type { DeltaField, DeltaSchema, DeltaType } from "./delta-types.js";
export { deltaTypeName, duckdbType } from "./delta-types.js";
export { type DeltaReadOptions, readDeltaSnapshot } from "./read-delta-snapshot.js";
