import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { DeltaAddAction } from "./delta-actions.js";
import { writeCast } from "./delta-schema-from-columns.js";
import type { DeltaSchema, DeltaType } from "./delta-types.js";

/** Parquet compression of data files. */
export type DeltaCompression = "zstd" | "snappy" | "gzip" | "uncompressed";

export interface WriteDeltaFilesOptions {
  /** The relation's columns (Engine.columns) and the Delta schema they map to. */
  readonly columns: readonly { name: string; type: string }[];
  readonly schema: DeltaSchema;
  readonly partitionColumns: readonly string[];
  /** Unique to the commit: names the staging folder and every file (`part-<commitId>-<i>.parquet`). */
  readonly commitId: string;
  readonly compression?: DeltaCompression;
}

const STAGING = ".sluice-staging-";

/**
 * Writes a relation's rows as new data files of the table at `root` and returns their `add` actions
 * (not yet committed).
 *
 * Contract: one `COPY ... TO` (PARTITION_BY the partition columns, which are not stored in the files,
 * as the protocol wants) into a hidden staging folder `<root>/.sluice-staging-<pid>-<commitId>`, then
 * each file renamed into its Hive folder under the root: names carry the commit id, so no committed
 * version references them until the caller commits. A kill leaves only unreferenced files (and a
 * staging folder, swept by the next writer once its pid is gone). Zone-less timestamps are cast to
 * TIMESTAMPTZ (UTC wall time), JSON/UUID to VARCHAR. Each add carries the path relative to the root
 * and URI-encoded (so Hive escapes like `%3A` on disk read back as `%253A`), partitionValues as
 * strings (null for NULL; timestamps as ISO with Z), size, modificationTime, dataChange true and
 * stats (numRecords, and minValues/maxValues/nullCount of top-level data columns) from COPY's
 * RETURN_STATS. Empty files are not added.
 */
export async function writeDeltaFiles(
  engine: Engine,
  root: string,
  relation: string,
  options: WriteDeltaFilesOptions,
): Promise<DeltaAddAction[]> {
  sweepStaging(root);
  const staging = join(root, `${STAGING}${process.pid}-${options.commitId}`);
  mkdirSync(staging, { recursive: true });
  try {
    const select = options.columns
      .map((c) => {
        const cast = writeCast(c.type);
        return cast ? `CAST(${ident(c.name)} AS ${cast}) AS ${ident(c.name)}` : ident(c.name);
      })
      .join(", ");
    const partitioned = options.partitionColumns.length > 0;
    const target = partitioned ? staging : join(staging, `part-${options.commitId}-0.parquet`);
    const copyOptions = [
      "FORMAT parquet",
      `COMPRESSION ${options.compression ?? "zstd"}`,
      "RETURN_STATS",
      ...(partitioned
        ? [
            `PARTITION_BY (${options.partitionColumns.map(ident).join(", ")})`,
            `FILENAME_PATTERN ${literal(`part-${options.commitId}-{i}`)}`,
            "OVERWRITE_OR_IGNORE",
          ]
        : []),
    ];
    const written = await engine.all<CopyStats>(
      `COPY (SELECT ${select} FROM ${relation}) TO ${literal(target)} (${copyOptions.join(", ")})`,
      "delta write",
    );
    const types = new Map(options.schema.fields.map((f) => [f.name, f.type]));
    const adds: DeltaAddAction[] = [];
    for (const file of written) {
      const rel = relative(staging, file.filename);
      if (Number(file.count) === 0) continue;
      const final = join(root, rel);
      mkdirSync(dirname(final), { recursive: true });
      renameSync(file.filename, final);
      const partitionValues: Record<string, string | null> = {};
      for (const { key, value } of file.partition_keys ?? []) {
        partitionValues[key] = value === null ? null : partitionString(value, types.get(key));
      }
      adds.push({
        path: encodeLogPath(rel),
        partitionValues,
        size: Number(file.file_size_bytes),
        modificationTime: Math.floor(statSync(final).mtimeMs),
        dataChange: true,
        stats: statsJson(file, types, new Set(options.partitionColumns)),
      });
    }
    return adds;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A relative file path as a Delta log path: each segment percent-encoded (`=` kept readable). */
export function encodeLogPath(rel: string): string {
  return rel
    .split(sep)
    .map((s) => encodeURIComponent(s).replaceAll("%3D", "="))
    .join("/");
}

/** One row of `COPY ... RETURN_STATS` (DuckDB 1.5). */
interface CopyStats {
  filename: string;
  count: bigint | number;
  file_size_bytes: bigint | number;
  /** `"col"` (nested: `"col"."field"`) -> { min, max, null_count, ... } as strings. */
  column_statistics: { key: string; value: { key: string; value: string }[] }[] | null;
  partition_keys: { key: string; value: string | null }[] | null;
}

/** A partition value as the protocol serializes it; DuckDB's timestamps become ISO with Z. */
function partitionString(value: string, type: DeltaType | undefined): string {
  if (type === "timestamp") return isoTimestamp(value, 6) ?? value;
  return value;
}

/** "2024-01-01 10:00:00.5+00" -> "2024-01-01T10:00:00.500000Z" (digits = fraction length). */
function isoTimestamp(value: string, digits: number): string | undefined {
  const m = /^(-?\d{4,}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:\+00(?::?00)?|Z)?$/.exec(value);
  if (!m) return undefined;
  const frac = (m[3] ?? "").padEnd(digits, "0").slice(0, digits);
  return `${m[1]}T${m[2]}.${frac}Z`;
}

const NUMERIC = /^(byte|short|integer|long|float|double|decimal\(.*\))$/;

/**
 * The stats JSON of one file, built as text so longs and decimals keep every digit. Min/max only
 * for top-level numeric, string, date and timestamp columns (timestamps truncated to milliseconds,
 * as Spark writes them); nullCount for every top-level data column.
 */
function statsJson(file: CopyStats, types: ReadonlyMap<string, DeltaType>, partitions: ReadonlySet<string>): string {
  const min: string[] = [];
  const max: string[] = [];
  const nulls: string[] = [];
  for (const { key, value } of file.column_statistics ?? []) {
    const m = /^"((?:[^"]|"")*)"$/.exec(key);
    if (!m) continue; // a nested leaf ("col"."field"): no stats for nested columns
    const name = m[1]!.replaceAll('""', '"');
    const type = types.get(name);
    if (type === undefined || partitions.has(name)) continue;
    const stat = new Map(value.map((e) => [e.key, e.value]));
    const nullCount = stat.get("null_count");
    if (nullCount !== undefined) nulls.push(`${JSON.stringify(name)}:${Number(nullCount)}`);
    const lo = statValue(stat.get("min"), type);
    const hi = statValue(stat.get("max"), type);
    if (lo !== undefined && hi !== undefined) {
      min.push(`${JSON.stringify(name)}:${lo}`);
      max.push(`${JSON.stringify(name)}:${hi}`);
    }
  }
  return `{"numRecords":${Number(file.count)},"minValues":{${min.join(",")}},"maxValues":{${max.join(",")}},"nullCount":{${nulls.join(",")}}}`;
}

/** A min/max statistic as a JSON token, or undefined when it is not kept for this type. */
function statValue(raw: string | undefined, type: DeltaType): string | undefined {
  if (raw === undefined || typeof type !== "string") return undefined;
  if (NUMERIC.test(type)) return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw) ? raw : undefined;
  if (type === "string" || type === "date") return JSON.stringify(raw);
  if (type === "timestamp") {
    const iso = isoTimestamp(raw, 3);
    return iso ? JSON.stringify(iso) : undefined;
  }
  return undefined;
}

/** Removes staging folders of writers whose process is gone (a kill mid-write). */
function sweepStaging(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(STAGING)) continue;
    const pid = Number(name.slice(STAGING.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) continue;
    if (pid === process.pid) continue; // this process's own, possibly live (another engine)
    rmSync(join(root, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
