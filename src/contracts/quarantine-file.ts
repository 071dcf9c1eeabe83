import { join } from "node:path";

/**
 * Layout of a quarantine file, `quarantine/<pipeline>/<run_id>.parquet`
 * (SPEC section 8). One row per failing or unparseable input record:
 *
 * - the original row, every column as VARCHAR (nested values as JSON text),
 *   as the contract saw it (after transforms, so PII is already hashed);
 * - `_raw` VARCHAR: the input text of a record that could not be parsed (NULL otherwise);
 * - `_failures` LIST(STRUCT(column, rule, value, detail)): every rule the row broke;
 * - `_run_id` VARCHAR: the run that last checked the row;
 * - `_source_pos` VARCHAR: line, offset or key in the source;
 * - `_quarantined_at` TIMESTAMPTZ.
 */
export const QUARANTINE_META_COLUMNS = ["_raw", "_failures", "_run_id", "_source_pos", "_quarantined_at"] as const;

/** Path of a run's quarantine file relative to data_dir (as the run record shows it). */
export function quarantineRelPath(pipeline: string, runId: string): string {
  return `quarantine/${pipeline}/${runId}.parquet`;
}

/** Absolute path of a run's quarantine file. */
export function quarantineFile(dataDir: string, pipeline: string, runId: string): string {
  return join(dataDir, "quarantine", pipeline, `${runId}.parquet`);
}

/** Absolute directory of a pipeline's quarantine files. */
export function quarantineDir(dataDir: string, pipeline: string): string {
  return join(dataDir, "quarantine", pipeline);
}

/** Absolute path of a run's strict-mode failure report. */
export function reportFile(dataDir: string, pipeline: string, runId: string): string {
  return join(dataDir, "reports", pipeline, runId, "validation_errors.csv");
}

/**
 * ORDER BY terms that sort source positions naturally: `events.jsonl:9`
 * before `events.jsonl:10`, file by file.
 */
export function naturalOrder(pos: string): string {
  return `regexp_extract(${pos}, '^(.*?)[0-9]*$', 1), TRY_CAST(regexp_extract(${pos}, '([0-9]+)$', 1) AS BIGINT), ${pos}`;
}
