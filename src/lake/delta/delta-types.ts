import { ident } from "../../engine/sql.js";
import { deltaError } from "./delta-error.js";

/** A Delta schema type as in schemaString: a primitive name or a nested struct/array/map object. */
export type DeltaType =
  | string
  | { type: "struct"; fields: DeltaField[] }
  | { type: "array"; elementType: DeltaType; containsNull?: boolean }
  | { type: "map"; keyType: DeltaType; valueType: DeltaType; valueContainsNull?: boolean };

export interface DeltaField {
  readonly name: string;
  readonly type: DeltaType;
  readonly nullable?: boolean;
  readonly metadata?: Record<string, unknown>;
}

/** The parsed schemaString of a metaData action. */
export interface DeltaSchema {
  readonly type: "struct";
  readonly fields: readonly DeltaField[];
}

const PRIMITIVES: Record<string, string> = {
  byte: "TINYINT",
  short: "SMALLINT",
  integer: "INTEGER",
  long: "BIGINT",
  float: "FLOAT",
  double: "DOUBLE",
  string: "VARCHAR",
  binary: "BLOB",
  boolean: "BOOLEAN",
  date: "DATE",
  // A Delta timestamp is an instant (written UTC-adjusted): TIMESTAMPTZ.
  timestamp: "TIMESTAMPTZ",
};

const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

/** Parses schemaString; a malformed one is an error naming the table. */
export function parseDeltaSchema(schemaString: string, root: string): DeltaSchema {
  try {
    const parsed = JSON.parse(schemaString) as DeltaSchema;
    if (parsed?.type !== "struct" || !Array.isArray(parsed.fields)) throw new Error("not a struct type");
    return parsed;
  } catch (err) {
    throw deltaError(
      `the Delta table ${root} has an unreadable schemaString: ${(err as Error).message}`,
      "the table's metaData is damaged; check the writer that produced it",
      "open",
      err,
    );
  }
}

/**
 * The DuckDB type of a Delta type (recursively for struct, array and map). Contract: a type outside
 * the reader-v1 set (timestamp_ntz, variant, ...) is refused, never guessed.
 */
export function duckdbType(type: DeltaType): string {
  if (typeof type === "string") {
    const primitive = PRIMITIVES[type];
    if (primitive) return primitive;
    const m = DECIMAL.exec(type);
    if (m) return `DECIMAL(${m[1]}, ${m[2]})`;
    throw unsupportedType(type);
  }
  switch (type.type) {
    case "struct":
      return `STRUCT(${type.fields.map((f) => `${ident(f.name)} ${duckdbType(f.type)}`).join(", ")})`;
    case "array":
      return `${duckdbType(type.elementType)}[]`;
    case "map":
      return `MAP(${duckdbType(type.keyType)}, ${duckdbType(type.valueType)})`;
    default:
      throw unsupportedType(JSON.stringify(type));
  }
}

/** The Delta type as schemaString spells a primitive, or a short form of a nested one (for reports). */
export function deltaTypeName(type: DeltaType): string {
  if (typeof type === "string") return type;
  switch (type.type) {
    case "struct":
      return `struct<${type.fields.map((f) => `${f.name}:${deltaTypeName(f.type)}`).join(",")}>`;
    case "array":
      return `array<${deltaTypeName(type.elementType)}>`;
    case "map":
      return `map<${deltaTypeName(type.keyType)},${deltaTypeName(type.valueType)}>`;
    default:
      return JSON.stringify(type);
  }
}

function unsupportedType(name: string): Error {
  return deltaError(
    `the Delta column type ${name} is not supported: sluice reads Delta reader version 1 types`,
    "rewrite the column with a reader-v1 type (timestamp instead of timestamp_ntz), or read the table with a Delta reader that supports it",
    "open",
  );
}
