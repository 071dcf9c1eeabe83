import { readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { parseCommitText } from "./delta-actions.js";
import { listDeltaLog } from "./list-delta-log.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { resolveDataPath } from "./resolve-data-path.js";

export interface VacuumResult {
  readonly version: number;
  /** Data files deleted (or, with dryRun, that would be), relative to the table root. */
  readonly deleted: readonly string[];
}

/** sluice's data file names (`part-<commit id>-<n>.parquet`): the only files vacuum ever deletes. */
const OURS = /^part-[0-9a-f-]+-\d+(\.[a-z]+)?\.parquet$/;

/**
 * `sluice vacuum`: deletes data files that no version within the retention references.
 *
 * Contract: a file goes when the latest version does not reference it and either a `remove` older
 * than `retentionHours` dropped it (readers of versions newer than that never need it), or no commit
 * ever added it and it is older than the retention (what a killed writer left). Only sluice-named
 * data files are touched (never the log, never other files, never hidden staging folders of live
 * writers); Hive folders left empty are removed. Time travel to versions before the horizon stops
 * working for the files it deleted, as in Delta.
 */
export async function vacuumDelta(
  engine: Engine,
  root: string,
  options: { readonly retentionHours?: number; readonly now?: number; readonly dryRun?: boolean } = {},
): Promise<VacuumResult> {
  const table = resolve(root);
  const snapshot = await readDeltaSnapshot(table, {}, engine);
  const horizon = (options.now ?? Date.now()) - (options.retentionHours ?? 168) * 3_600_000;
  const live = new Set(snapshot.files.map((f) => f.path));
  const { added, removedBefore } = await logHistory(table, horizon);
  const deleted: string[] = [];
  for (const path of dataFiles(table)) {
    if (live.has(path)) continue;
    const expired = removedBefore.has(path) || (!added.has(path) && statSync(path).mtimeMs < horizon);
    if (!expired) continue;
    deleted.push(relative(table, path).split(sep).join("/"));
    if (!options.dryRun) unlinkSync(path);
  }
  if (!options.dryRun) removeEmptyPartitions(table);
  return { version: snapshot.version, deleted: deleted.sort() };
}

/** Every path any JSON commit added, and those a commit removed before `horizon`. */
async function logHistory(table: string, horizon: number) {
  const listing = await listDeltaLog(table);
  const added = new Set<string>();
  const removedBefore = new Set<string>();
  for (const file of listing.commits.values()) {
    for (const action of parseCommitText(readFileSync(file, "utf8"))) {
      if (action.add) added.add(resolveDataPath(table, action.add.path));
      const removed = action.remove;
      if (removed && (removed.deletionTimestamp ?? Number.POSITIVE_INFINITY) < horizon) {
        removedBefore.add(resolveDataPath(table, removed.path));
      }
    }
  }
  return { added, removedBefore };
}

/** sluice-named data files under the table, outside `_delta_log` and hidden folders. */
function dataFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name.startsWith("_")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...dataFiles(path));
    else if (OURS.test(entry.name)) out.push(path);
  }
  return out;
}

/** Removes Hive partition folders (`name=value`) that hold nothing any more. */
function removeEmptyPartitions(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.includes("=")) continue;
    const path = join(dir, entry.name);
    removeEmptyPartitions(path);
    if (readdirSync(path).length === 0) rmdirSync(path);
  }
}
