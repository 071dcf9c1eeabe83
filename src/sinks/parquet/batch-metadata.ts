import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";

/**
 * Parquet key-value metadata key under which a snapshot records the ids of the batches it holds
 * (JSON array, oldest first): the sink's half of the commit protocol (docs/ARCHITECTURE.md). The
 * batch id is written in the same file as the batch's rows, so a file holds a batch exactly when
 * it lists its id.
 */
export const BATCHES_KEY = "sluice_batches";

/** Ids a snapshot remembers: a retried or redelivered batch is always one of the latest. */
const REMEMBERED = 1000;

/** The `KV_METADATA` COPY option recording `ids` (the newest REMEMBERED of them). */
export function batchesOption(ids: readonly string[]): string {
  return `KV_METADATA {${BATCHES_KEY}: ${literal(JSON.stringify(ids.slice(-REMEMBERED)))}}`;
}

/** The batch ids a Parquet file records; [] for a file written without them. */
export async function batchesOf(engine: Engine, file: string): Promise<string[]> {
  const row = await engine.one<{ value: string }>(
    `SELECT decode(value) AS value FROM parquet_kv_metadata(${literal(file)}) WHERE decode(key) = ${literal(BATCHES_KEY)}`,
    "read parquet",
  );
  if (!row) return [];
  try {
    const ids = JSON.parse(row.value) as unknown;
    return Array.isArray(ids) ? ids.map(String) : [];
  } catch {
    return [];
  }
}
