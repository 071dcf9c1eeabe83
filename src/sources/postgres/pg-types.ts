import { ident } from "../../engine/sql.js";

/** A result column as PostgreSQL describes it (RowDescription + pg_type). */
export interface PgColumn {
  readonly name: string;
  /** `format_type(oid, typmod)`, e.g. `numeric(10,2)`, `timestamp with time zone`, `text[]`. */
  readonly formatted: string;
  /** pg_type.typname of the (base) type, e.g. `int4`, `timestamptz`, `_text`. */
  readonly typname: string;
  /** pg_type.typtype: b base, e enum, c composite, r range, m multirange, p pseudo. */
  readonly typtype: string;
  /** pg_type.typcategory: A array, S string, N numeric, D datetime ... */
  readonly typcategory: string;
  /** Type modifier (numeric precision/scale, varchar length); -1 when none. */
  readonly typmod: number;
  /** Values compare under a collation (text-like types). */
  readonly collatable: boolean;
  /** For arrays: the element's typname, typtype and typmod. */
  readonly elem?: { readonly typname: string; readonly typtype: string };
}

/**
 * How one PostgreSQL column crosses into DuckDB through COPY CSV.
 *
 * `pgExpr` is what the export SELECT emits (its text form is what COPY
 * writes), `readType` is the type read_csv parses it as, and `duckExpr`
 * turns that into `duckType`, the column's faithful DuckDB type.
 */
export interface ColumnTransfer {
  readonly name: string;
  readonly duckType: string;
  readonly readType: string;
  /**
   * Set for dates and times: read as VARCHAR and converted to this type by
   * checkedConversion, which stops the run on a value DuckDB cannot hold
   * (BC, out of range) instead of changing it. duckExpr is then unused.
   */
  readonly checked?: string;
  pgExpr(column: string): string;
  duckExpr(ref: string): string;
}

const SIMPLE: Record<string, string> = {
  int2: "SMALLINT",
  int4: "INTEGER",
  int8: "BIGINT",
  oid: "BIGINT",
  float4: "FLOAT",
  float8: "DOUBLE",
  bool: "BOOLEAN",
  uuid: "UUID",
  json: "JSON",
  jsonb: "JSON",
  timestamp: "TIMESTAMP",
  timestamptz: "TIMESTAMPTZ",
  date: "DATE",
  time: "TIME",
  timetz: "TIMETZ",
  interval: "INTERVAL",
  text: "VARCHAR",
  varchar: "VARCHAR",
  bpchar: "VARCHAR",
  name: "VARCHAR",
  char: "VARCHAR",
  citext: "VARCHAR",
};

/** Element types whose JSON form (`array_to_json`) DuckDB casts back exactly. */
const JSON_ELEMENT: Record<string, string> = {
  int2: "SMALLINT",
  int4: "INTEGER",
  int8: "BIGINT",
  float8: "DOUBLE",
  float4: "FLOAT",
  numeric: "DOUBLE",
  bool: "BOOLEAN",
  text: "VARCHAR",
  varchar: "VARCHAR",
  bpchar: "VARCHAR",
  name: "VARCHAR",
  citext: "VARCHAR",
  uuid: "UUID",
  json: "JSON",
  jsonb: "JSON",
  date: "DATE",
  timestamptz: "TIMESTAMPTZ",
  timestamp: "TIMESTAMP",
};

/** Types whose PostgreSQL text may be BC or out of DuckDB's range (see ColumnTransfer.checked). */
const CHECKED = new Set(["DATE", "TIMESTAMP", "TIMESTAMPTZ"]);

const plain = (c: string) => ident(c);
const same = (r: string) => r;

/** DECIMAL(p,s) for numeric(p,s) with p <= 38 and 0 <= s <= p; DOUBLE otherwise (unconstrained or wider). */
export function numericType(typmod: number): string {
  if (typmod < 4) return "DOUBLE";
  const precision = ((typmod - 4) >> 16) & 0xffff;
  const rawScale = (typmod - 4) & 0xffff;
  // PostgreSQL 15 allows negative scales, stored as an 11-bit two's complement.
  const scale = rawScale > 0x3ff ? rawScale - 0x800 : rawScale;
  if (precision < 1 || precision > 38 || scale < 0 || scale > precision) return "DOUBLE";
  return `DECIMAL(${precision},${scale})`;
}

/**
 * Maps a PostgreSQL column to its DuckDB type and transfer expressions
 * (timestamptz -> TIMESTAMPTZ, json/jsonb -> JSON, numeric(p,s) ->
 * DECIMAL(p,s) or DOUBLE beyond 38 digits, integer types, real/double,
 * boolean, uuid -> UUID, text/varchar/enums -> VARCHAR, date, time,
 * interval, bytea -> BLOB, arrays -> LISTs; anything else keeps its
 * PostgreSQL text form as VARCHAR).
 *
 * Contract: the export session runs with TimeZone=UTC, DateStyle=ISO and
 * IntervalStyle=postgres, so timestamptz values arrive as
 * `YYYY-MM-DD hh:mm:ss[.ffffff]+00`, dates as `YYYY-MM-DD` and intervals as
 * `1 year 2 mons 3 days 04:05:06`: forms DuckDB's CSV reader parses as is.
 */
export function columnTransfer(col: PgColumn): ColumnTransfer {
  const base = { name: col.name };
  if (col.typcategory === "A" && col.elem) {
    const elem =
      col.elem.typname === "numeric"
        ? numericType(col.typmod)
        : col.elem.typtype === "e"
          ? "VARCHAR"
          : JSON_ELEMENT[col.elem.typname];
    const pgExpr = (c: string) => `array_to_json(${ident(c)})::text`;
    if (elem) {
      return {
        ...base,
        duckType: `${elem}[]`,
        readType: "VARCHAR",
        pgExpr,
        duckExpr: (r) => `CAST(CAST(${r} AS JSON) AS ${elem}[])`,
      };
    }
    return { ...base, duckType: "JSON", readType: "JSON", pgExpr, duckExpr: same };
  }
  if (col.typname === "numeric") {
    const t = numericType(col.typmod);
    return { ...base, duckType: t, readType: t, pgExpr: plain, duckExpr: same };
  }
  if (col.typname === "money") {
    return { ...base, duckType: "DOUBLE", readType: "DOUBLE", pgExpr: (c) => `${ident(c)}::numeric`, duckExpr: same };
  }
  if (col.typname === "bytea") {
    // bytea_output=hex: `\x00ff`.
    return { ...base, duckType: "BLOB", readType: "VARCHAR", pgExpr: plain, duckExpr: (r) => `unhex(substr(${r}, 3))` };
  }
  const simple = SIMPLE[col.typname];
  if (simple && CHECKED.has(simple)) {
    return { ...base, duckType: simple, readType: "VARCHAR", checked: simple, pgExpr: plain, duckExpr: same };
  }
  if (simple) return { ...base, duckType: simple, readType: simple, pgExpr: plain, duckExpr: same };
  // Enums, domains over text, inet, xml, ranges, composites ...: their text form.
  return { ...base, duckType: "VARCHAR", readType: "VARCHAR", pgExpr: (c) => `${ident(c)}::text`, duckExpr: same };
}
