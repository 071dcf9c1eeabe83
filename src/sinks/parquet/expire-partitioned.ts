import { linkSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { removeQuietly } from "../../util/atomic.js";
import { VersionedDir } from "./versioned-dir.js";

/** What `expirePartitioned` removed (or, with dryRun, would remove). */
export interface ExpirePartitionedResult {
  /** The date partition column the cutoff applied to; undefined when none of `partitionBy` holds dates. */
  readonly column?: string;
  /** Partitions removed, as `column=value`, sorted. */
  readonly partitions: readonly string[];
  readonly filesRemoved: number;
  /** Why nothing could be expired in a published tree: no date column, or a folder sluice did not publish. */
  readonly skipped?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Hive's names for a NULL partition value: never expired, and no reason to disqualify a column. */
const NULLS = new Set(["NULL", "__HIVE_DEFAULT_PARTITION__"]);
/** sluice's part files (`part-<batch id>-<n>.parquet`): the only files retention drops. */
const OURS = /^part-.+\.parquet$/;

/**
 * Retention of a Hive partitioned dataset (`layout: partitioned`, not delta): publishes the next
 * version of the tree without the part files of partitions dated before `before` ('YYYY-MM-DD').
 *
 * Contract: the date column is the first of `partitionBy` (default `[event_date]`) whose folder
 * values in the published tree are all 'YYYY-MM-DD' (NULL folders aside); a partition `col=value`
 * with a value before `before` loses its sluice part files. Every other file of the version is
 * hard-linked into a staged folder (no data is copied) which `VersionedDir.commit` publishes in one
 * rename, as a write does: readers see the old tree or the new one. A `root` that is not a version
 * sluice published (a plain folder: `skipped` says so) or nothing published yet is left alone; so
 * is a tree without a date column (`skipped`). Nothing expired (or
 * `dryRun`) publishes nothing. `label` names the version (the run id). Throws on file system errors
 * (the staged folder is removed; the published tree is unchanged).
 */
export function expirePartitioned(
  root: string,
  options: {
    readonly before: string;
    readonly partitionBy?: readonly string[];
    readonly label: string;
    readonly dryRun?: boolean;
  },
): ExpirePartitionedResult {
  const dir = new VersionedDir(root);
  dir.repair();
  const current = dir.current();
  if (current === undefined) return { partitions: [], filesRemoved: 0 };
  if (current === dir.root) {
    return { partitions: [], filesRemoved: 0, skipped: `${root} is a folder sluice did not publish; left alone` };
  }
  const files = filesUnder(current);
  const names = options.partitionBy?.length ? options.partitionBy : ["event_date"];
  const column = dateColumn(files, names);
  if (column === undefined && files.length === 0) return { partitions: [], filesRemoved: 0 };
  if (column === undefined) {
    return { partitions: [], filesRemoved: 0, skipped: `no date partition column among ${names.join(", ")}` };
  }
  const expired = new Set(files.filter((f) => isExpired(f, column, options.before)));
  const partitions = [...new Set([...expired].map((f) => segmentOf(f, column)!))].sort();
  const result = { column, partitions, filesRemoved: expired.size };
  if (expired.size === 0 || options.dryRun) return result;

  const staged = dir.stage();
  try {
    for (const file of files) {
      if (expired.has(file)) continue;
      mkdirSync(dirname(join(staged, file)), { recursive: true });
      linkSync(join(current, file), join(staged, file));
    }
    dir.commit(staged, options.label);
  } catch (err) {
    removeQuietly(staged);
    throw err;
  }
  return result;
}

/** The first of `names` that is a partition level of the tree whose values are all dates. */
function dateColumn(files: readonly string[], names: readonly string[]): string | undefined {
  return names.find((name) => {
    const values = files.flatMap((f) => {
      const segment = segmentOf(f, name);
      return segment === undefined ? [] : [segment.slice(name.length + 1)];
    });
    const dated = values.filter((v) => !NULLS.has(v));
    return dated.length > 0 && dated.every((v) => DATE.test(v));
  });
}

function isExpired(file: string, column: string, before: string): boolean {
  const value = segmentOf(file, column)?.slice(column.length + 1);
  const name = file.split("/").pop() ?? "";
  return value !== undefined && DATE.test(value) && value < before && OURS.test(name);
}

/** The `column=value` folder of a relative path, if it has one. */
function segmentOf(file: string, column: string): string | undefined {
  return file
    .split("/")
    .slice(0, -1)
    .find((s) => s.startsWith(`${column}=`));
}

/** Every file under `dir` (hidden ones too), as '/'-separated paths relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of readdirSync(sub, { withFileTypes: true })) {
      const path = join(sub, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path).split(sep).join("/"));
    }
  };
  walk(dir);
  return out;
}
