import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { DeltaSnapshot } from "./delta-snapshot.js";
import { type DeltaType, duckdbType } from "./delta-types.js";

/** How a snapshot's files are read. */
export interface DeltaScanOptions {
  /**
   * Zone of timestamp partition values written without one: PROTOCOL.md defines them in the
   * writer's zone, which the log does not record. Default "UTC"; values with `Z` or an offset
   * are instants already. (The golden tables were written in America/Los_Angeles.)
   */
  readonly partitionTimeZone?: string;
  /**
   * The data columns the files hold (names); a schema column absent from every file reads as NULL.
   * Default: every non-partition schema column is assumed present (`createDeltaView` measures it).
   */
  readonly dataColumns?: ReadonlySet<string>;
}

/** Partition values that mean null: a JSON null, Hive's default-partition marker. */
const HIVE_NULL = "__HIVE_DEFAULT_PARTITION__";

/**
 * A parenthesized SELECT over the snapshot's live files, usable as a FROM item:
 * `SELECT * FROM ${deltaScanSql(snapshot)} AS t`.
 *
 * Contract: one read_parquet over every live file (union_by_name, no Hive detection from folder
 * names); partition columns come from each file's `partitionValues` — joined on DuckDB's
 * `file_index` against a VALUES list converted once per file, never taken from folder names —
 * typed per the schema (the string "null" stays a string; JSON null, `__HIVE_DEFAULT_PARTITION__`
 * and, for non-string types, "" are NULL); data columns are cast to the schema's DuckDB types;
 * columns come in schema order. A snapshot without files is an empty relation of the same columns.
 */
export function deltaScanSql(snapshot: DeltaSnapshot, options: DeltaScanOptions = {}): string {
  const fields = snapshot.metadata.schema.fields;
  const partitions = new Set(snapshot.metadata.partitionColumns);
  if (snapshot.files.length === 0) {
    const cols = fields.map((f) => `CAST(NULL AS ${duckdbType(f.type)}) AS ${ident(f.name)}`);
    return `(SELECT ${cols.join(", ")} LIMIT 0)`;
  }
  const files = `[${snapshot.files.map((f) => literal(f.path)).join(", ")}]`;
  const scan = `read_parquet(${files}, union_by_name = true, hive_partitioning = false)`;
  const partitionFields = fields.filter((f) => partitions.has(f.name));
  const projection = fields.map((f) => {
    if (partitions.has(f.name)) return `p.${ident(f.name)}`;
    if (options.dataColumns && !options.dataColumns.has(f.name)) {
      return `CAST(NULL AS ${duckdbType(f.type)}) AS ${ident(f.name)}`;
    }
    return `CAST(d.${ident(f.name)} AS ${duckdbType(f.type)}) AS ${ident(f.name)}`;
  });
  if (partitionFields.length === 0) return `(SELECT ${projection.join(", ")} FROM ${scan} AS d)`;
  const zone = options.partitionTimeZone ?? "UTC";
  const rows = snapshot.files.map((file, i) => {
    const values = partitionFields.map((f) => partitionLiteral(file.partitionValues[f.name], f.type));
    return `(${i}, ${values.join(", ")})`;
  });
  const converted = partitionFields.map(
    (f, i) => `${partitionValueSql(`v."__p${i}"`, f.type, zone)} AS ${ident(f.name)}`,
  );
  const names = ['"__file_index"', ...partitionFields.map((_, i) => `"__p${i}"`)].join(", ");
  const mapping = `(SELECT v."__file_index", ${converted.join(", ")} FROM (VALUES ${rows.join(", ")}) AS v(${names}))`;
  return `(SELECT ${projection.join(", ")} FROM ${scan} AS d JOIN ${mapping} AS p ON d.file_index = p."__file_index")`;
}

/**
 * Creates (or replaces) a view `name` over the snapshot. Reads the files' footers once to learn
 * which schema columns they hold (a column added by a later schema reads as NULL in older files).
 */
export async function createDeltaView(
  engine: Engine,
  name: string,
  snapshot: DeltaSnapshot,
  options: DeltaScanOptions = {},
): Promise<void> {
  let dataColumns = options.dataColumns;
  if (!dataColumns && snapshot.files.length > 0) {
    const files = `[${snapshot.files.map((f) => literal(f.path)).join(", ")}]`;
    const cols = await engine.columns(`read_parquet(${files}, union_by_name = true, hive_partitioning = false)`);
    dataColumns = new Set(cols.map((c) => c.name));
  }
  const sql = deltaScanSql(snapshot, { ...options, ...(dataColumns ? { dataColumns } : {}) });
  await engine.run(`CREATE OR REPLACE VIEW ${ident(name)} AS SELECT * FROM ${sql} AS t`, "delta read");
}

/** A partition value as a VARCHAR literal, or NULL for the encodings of null. */
function partitionLiteral(value: string | null | undefined, type: DeltaType): string {
  if (value === null || value === undefined || value === HIVE_NULL) return "NULL::VARCHAR";
  if (value === "" && type !== "string") return "NULL::VARCHAR";
  return `${literal(value)}::VARCHAR`;
}

/** SQL converting a serialized partition value (VARCHAR column `col`) to the column's type. */
function partitionValueSql(col: string, type: DeltaType, zone: string): string {
  if (type === "string") return col;
  if (type === "binary") return `encode(${col})`;
  if (type === "timestamp") {
    // An ISO value with Z or an offset is an instant; a bare "YYYY-MM-DD hh:mm:ss[.ffffff]" is wall
    // time in the writer's zone.
    return `CASE WHEN regexp_matches(${col}, '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$') THEN CAST(${col} AS TIMESTAMPTZ) ELSE timezone(${literal(zone)}, CAST(${col} AS TIMESTAMP)) END`;
  }
  return `CAST(${col} AS ${duckdbType(type)})`;
}
