import type { DeltaProtocol } from "./delta-actions.js";
import { deltaError } from "./delta-error.js";

/** The Delta reader version sluice implements: plain Parquet files, no reader features. */
export const SUPPORTED_READER_VERSION = 1;

/**
 * Refuses a table sluice cannot read correctly, before any data file is touched. Contract: a
 * minReaderVersion above 1, any readerFeatures (deletionVectors, columnMapping, timestampNtz,
 * v2Checkpoint, ...) or a column mapping mode other than none is an error naming the version or
 * feature; reading such a table as reader v1 would return wrong rows (deleted rows resurrected,
 * columns read by the wrong physical name).
 */
export function checkDeltaProtocol(
  root: string,
  protocol: DeltaProtocol | undefined,
  configuration: Readonly<Record<string, string>>,
): void {
  const hint =
    "sluice reads Delta reader version 1 (no reader features): read the table with a Delta client that supports it, or rewrite it without these features (for deletion vectors: REORG TABLE ... APPLY (PURGE) then disable delta.enableDeletionVectors)";
  if (!protocol) {
    throw deltaError(`the Delta table ${root} has no protocol action in its log`, "the log is damaged", "open");
  }
  const features = (protocol.readerFeatures ?? []).filter((f) => typeof f === "string");
  if (features.length > 0) {
    throw deltaError(
      `the Delta table ${root} needs reader features ${features.join(", ")} (minReaderVersion ${protocol.minReaderVersion}); sluice reads reader version ${SUPPORTED_READER_VERSION} only`,
      hint,
      "open",
    );
  }
  if (!(protocol.minReaderVersion <= SUPPORTED_READER_VERSION)) {
    throw deltaError(
      `the Delta table ${root} needs unsupported reader version ${protocol.minReaderVersion}${readerVersionFeature(protocol.minReaderVersion)}; sluice reads reader version ${SUPPORTED_READER_VERSION} only`,
      hint,
      "open",
    );
  }
  const mode = configuration["delta.columnMapping.mode"];
  if (mode !== undefined && mode !== "none") {
    throw deltaError(
      `the Delta table ${root} uses column mapping (delta.columnMapping.mode = ${mode}); sluice reads reader version ${SUPPORTED_READER_VERSION} without column mapping`,
      hint,
      "open",
    );
  }
}

/** What a legacy reader version brought, so the message names the feature. */
function readerVersionFeature(version: number): string {
  if (version === 2) return " (column mapping)";
  if (version === 3) return " (table features)";
  return "";
}
