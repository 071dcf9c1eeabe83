import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { DeltaFile, DeltaSnapshot } from "./delta-snapshot.js";
import { duckdbType } from "./delta-types.js";

/**
 * The live files of `snapshot` that hold a row whose key is one of `keys` (a relation with the key
 * columns, NULL-free and distinct: see `keySetSql`).
 *
 * Contract: never misses a file that holds such a row; may return a file that does not (a file
 * without stats). Two passes: the log prunes first — a key column that is a partition column must
 * equal the file's partition value, a data key column must lie within the file's min/max stats
 * (timestamps widened by the millisecond the stats were truncated to) — then the survivors' key
 * columns are read (only those columns, only those files) and semi-joined with the keys. Costs what
 * the batch's keys can touch, not the table's size, when keys cluster (ids that grow with time).
 */
export async function deltaFilesForKeys(
  engine: Engine,
  snapshot: DeltaSnapshot,
  keys: string,
  key: readonly string[],
): Promise<DeltaFile[]> {
  if (snapshot.files.length === 0) return [];
  const candidates = await pruneByLog(engine, snapshot, keys, key);
  const partitions = new Set(snapshot.metadata.partitionColumns);
  const dataKey = key.filter((k) => !partitions.has(k));
  if (candidates.length === 0 || dataKey.length === 0) return candidates;
  const list = `[${candidates.map((f) => literal(f.path)).join(", ")}]`;
  const on = dataKey.map((k) => `d.${ident(k)} = b.${ident(k)}`).join(" AND ");
  const rows = await engine.all<{ i: bigint | number }>(
    `SELECT DISTINCT d.file_index AS i
     FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false) AS d
     SEMI JOIN ${keys} AS b ON ${on}`,
    "delta merge",
  );
  return rows.map((r) => candidates[Number(r.i)]!);
}

/** The files whose partition values and key stats can hold one of the keys. */
async function pruneByLog(
  engine: Engine,
  snapshot: DeltaSnapshot,
  keys: string,
  key: readonly string[],
): Promise<DeltaFile[]> {
  const types = new Map(snapshot.metadata.schema.fields.map((f) => [f.name, f.type]));
  const partitions = new Set(snapshot.metadata.partitionColumns);
  const cols: string[] = [];
  const conditions: string[] = [];
  key.forEach((k, j) => {
    const type = types.get(k);
    const sqlType = type === undefined ? "VARCHAR" : duckdbType(type);
    // A string column of the table may hold what the batch typed otherwise (JSON detects UUIDs):
    // compared as text, which orders canonical UUIDs as DuckDB does.
    const b = sqlType === "VARCHAR" ? `b.${ident(k)}::VARCHAR` : `b.${ident(k)}`;
    if (partitions.has(k)) {
      cols.push(`p${j}`);
      conditions.push(`${b} = TRY_CAST(f.p${j} AS ${sqlType})`);
      return;
    }
    cols.push(`lo${j}`, `hi${j}`);
    const slack = type === "timestamp" || type === "timestamp_ntz" ? " + INTERVAL 1 MILLISECOND" : "";
    const lo = `TRY_CAST(f.lo${j} AS ${sqlType})`;
    const hi = `TRY_CAST(f.hi${j} AS ${sqlType})${slack}`;
    conditions.push(`(${lo} IS NULL OR ${b} >= ${lo}) AND (${hi} IS NULL OR ${b} <= ${hi})`);
  });
  const values = snapshot.files.map((f, i) => {
    const stats = f.stats as { minValues?: Record<string, unknown>; maxValues?: Record<string, unknown> } | undefined;
    const cells = key.flatMap((k) =>
      partitions.has(k) ? [text(f.partitionValues[k])] : [text(stats?.minValues?.[k]), text(stats?.maxValues?.[k])],
    );
    return `(${i}, ${cells.join(", ")})`;
  });
  const rows = await engine.all<{ i: number }>(
    `SELECT DISTINCT f.i FROM (VALUES ${values.join(", ")}) AS f(i, ${cols.join(", ")})
     SEMI JOIN ${keys} AS b ON ${conditions.join(" AND ")}`,
    "delta merge",
  );
  return rows.map((r) => snapshot.files[Number(r.i)]!);
}

/** A log value as a VARCHAR literal (NULL when absent): cast to the key's type in SQL. */
function text(value: unknown): string {
  if (value === null || value === undefined || typeof value === "object") return "NULL::VARCHAR";
  return `${literal(String(value))}::VARCHAR`;
}
