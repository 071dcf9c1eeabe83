import { readdirSync } from "node:fs";
import { join } from "node:path";
import { quarantineDir } from "../contracts/quarantine-file.js";
import { removeQuietly } from "../util/atomic.js";
import { isRunId } from "../util/confine.js";
import type { Ledger } from "./ledger.js";
import { isLiveRun } from "./scratch-dir.js";

/**
 * Removes quarantine files of runs that died between publishing them and saving their record
 * (a kill in that short window): such a run's state never moved, so the next run reads the same
 * rows and quarantines them again. Only files named `<run_id>.parquet` of runs that have no record
 * and are not running now are touched; anything else in the folder is left alone. Returns the
 * run ids swept.
 */
export function sweepOrphanQuarantine(dataDir: string, pipeline: string, ledger: Ledger): string[] {
  const dir = quarantineDir(dataDir, pipeline);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const orphans = names
    .filter((f) => f.endsWith(".parquet"))
    .map((f) => f.slice(0, -".parquet".length))
    .filter((id) => isRunId(id) && !ledger.has(pipeline, id) && !isLiveRun(dataDir, id));
  for (const id of orphans) removeQuietly(join(dir, `${id}.parquet`));
  return orphans;
}
