import { relative, sep } from "node:path";
import type { LoadedConfig } from "../config/load-config.js";
import { quarantineFile } from "../contracts/quarantine-file.js";
import { publishQuarantine } from "../contracts/stage-quarantine.js";
import type { RunRecord } from "../plan/run-record.js";
import type { Logger } from "../util/logger.js";

/**
 * Publishes the run's staged quarantine file once every sink holds the batch: as
 * `quarantine/<pipeline>/<run_id>.parquet`, or over the replayed run's file (`quarantineAs`),
 * which a replay whose every row passed removes. Sets `quarantine_path` and logs the file as it
 * now exists.
 */
export function publishRunQuarantine(
  loaded: LoadedConfig,
  pipeline: string,
  runId: string,
  options: { readonly quarantineAs?: string },
  staged: string | undefined,
  record: RunRecord,
  log: Logger,
): void {
  const target = quarantineFile(loaded.dataDir, pipeline, options.quarantineAs ?? runId);
  publishQuarantine(staged, target, options.quarantineAs !== undefined);
  if (!staged) {
    delete record.quarantine_path;
    return;
  }
  record.quarantine_path = relative(loaded.dataDir, target).split(sep).join("/");
  log.warn(`quarantined ${record.rows.quarantined} rows -> ${record.quarantine_path}`);
}
