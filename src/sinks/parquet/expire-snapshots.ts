import { existsSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { escapeRegExp } from "../../util/escape-regexp.js";
import { latestName } from "./write-snapshot.js";

/** One `<dataset>_YYYYMMDD_HHMMSS[_n].parquet` file: its name, UTC instant and same-second counter. */
interface Snapshot {
  readonly name: string;
  readonly at: number;
  readonly n: number;
}

/**
 * Retention of the snapshot layout: deletes the timestamped snapshots
 * `<dataset>_YYYYMMDD_HHMMSS[_n].parquet` in `dir` whose (UTC) time is before `beforeMs`.
 *
 * Contract: never the snapshot `<dataset>_latest.parquet` is a link to (same inode), never the
 * newest snapshot (what `latest` is a copy of where links are not supported), never `latest`
 * itself, never a file of any other name (another dataset's, the user's, hidden ones). Returns the
 * names deleted (or, with dryRun, that would be), oldest first. A missing `dir` deletes nothing.
 */
export function expireSnapshots(
  dir: string,
  dataset: string,
  options: { readonly beforeMs: number; readonly dryRun?: boolean },
): string[] {
  if (!existsSync(dir)) return [];
  const pattern = new RegExp(`^${escapeRegExp(dataset)}_(\\d{8})_(\\d{6})(?:_(\\d+))?\\.parquet$`);
  const snapshots: Snapshot[] = [];
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    const at = m ? Date.parse(isoOf(m[1]!, m[2]!)) : Number.NaN;
    if (m && !Number.isNaN(at)) snapshots.push({ name, at, n: Number(m[3] ?? 1) });
  }
  snapshots.sort((a, b) => a.at - b.at || a.n - b.n);
  const keep = new Set([snapshots.at(-1)?.name, linkedByLatest(dir, dataset, snapshots)]);
  const expired = snapshots.filter((s) => s.at < options.beforeMs && !keep.has(s.name)).map((s) => s.name);
  if (!options.dryRun) for (const name of expired) unlinkSync(join(dir, name));
  return expired;
}

/** The snapshot `latest` is a hard link to, if any. */
function linkedByLatest(dir: string, dataset: string, snapshots: readonly Snapshot[]): string | undefined {
  const latest = join(dir, latestName(dataset));
  if (!existsSync(latest)) return undefined;
  const target = statSync(latest);
  return snapshots.find((s) => {
    const st = statSync(join(dir, s.name));
    return st.ino === target.ino && st.dev === target.dev;
  })?.name;
}

/** "20260301", "120000" -> "2026-03-01T12:00:00Z". */
function isoOf(day: string, time: string): string {
  return `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}Z`;
}
