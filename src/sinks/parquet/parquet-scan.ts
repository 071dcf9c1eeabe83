import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { PartitionColumn } from "./partition-plan.js";

/** Parquet key-value metadata key under which a partitioned write records its partition columns. */
export const PARTITIONING_KEY = "sluice_partitioning";

/** Ending of the glob that stands for a partitioned dataset in `SinkOutput.files`. */
export const HIVE_GLOB = "/**/*.parquet";

/** The glob covering every file of a partitioned dataset rooted at `root` (hidden aside names never match). */
export function hiveGlob(root: string): string {
  return `${root}${HIVE_GLOB}`;
}

/**
 * A DuckDB FROM-expression over a dataset's Parquet files, as the parquet
 * sink reports them in `SinkOutput.files`: plain file paths (snapshot layout)
 * or one hive glob (partitioned layout). Undefined when the glob matches no
 * file yet.
 *
 * Partition columns come back with the types they had when written (read
 * from the files' metadata), not DuckDB's guess from folder names (`01`
 * stays VARCHAR). `withDerived: false` leaves out the partition columns
 * sluice derived (event_date from the time column), so the expression yields
 * exactly the columns the rows were written with (for dedup against the
 * target); a view keeps them for partition pruning.
 */
export async function parquetScan(
  engine: Engine,
  files: readonly string[],
  opts: { withDerived: boolean },
): Promise<string | undefined> {
  const globs = files.filter((f) => f.endsWith(HIVE_GLOB));
  if (globs.length === 0) return `read_parquet([${files.map(literal).join(", ")}], union_by_name = true)`;
  const list = `[${globs.map(literal).join(", ")}]`;
  const first = await engine.one<{ file: string }>(`SELECT file FROM glob(${list}) LIMIT 1`, "read parquet");
  if (!first) return undefined;
  const partitions = await partitionsOf(engine, first.file);
  const hiveTypes = partitions.length
    ? `, hive_types = {${partitions.map((p) => `${literal(p.name)}: ${literal(p.type)}`).join(", ")}}`
    : "";
  const scan = `read_parquet(${list}, hive_partitioning = true, union_by_name = true${hiveTypes})`;
  const derived = partitions.filter((p) => p.derived).map((p) => ident(p.name));
  if (opts.withDerived || derived.length === 0) return scan;
  return `(SELECT * EXCLUDE (${derived.join(", ")}) FROM ${scan})`;
}

/** The partition columns a file's metadata records; [] for files written without it. */
async function partitionsOf(engine: Engine, file: string): Promise<PartitionColumn[]> {
  const row = await engine.one<{ value: string }>(
    `SELECT decode(value) AS value FROM parquet_kv_metadata(${literal(file)}) WHERE decode(key) = ${literal(PARTITIONING_KEY)}`,
    "read parquet",
  );
  if (!row) return [];
  try {
    return JSON.parse(row.value) as PartitionColumn[];
  } catch {
    return [];
  }
}
