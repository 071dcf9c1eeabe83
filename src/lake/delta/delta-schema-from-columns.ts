import { deltaError } from "./delta-error.js";
import type { DeltaField, DeltaSchema, DeltaType } from "./delta-types.js";

const PRIMITIVES: Record<string, string> = {
  VARCHAR: "string",
  JSON: "string",
  UUID: "string",
  BIGINT: "long",
  INTEGER: "integer",
  SMALLINT: "short",
  TINYINT: "byte",
  DOUBLE: "double",
  FLOAT: "float",
  BOOLEAN: "boolean",
  DATE: "date",
  BLOB: "binary",
  "TIMESTAMP WITH TIME ZONE": "timestamp",
  TIMESTAMPTZ: "timestamp",
  // A zone-less TIMESTAMP is written as a Delta timestamp (an instant) with its wall time read as UTC:
  // the writer casts it to TIMESTAMPTZ in a session whose TimeZone is UTC (engine.ts sets it).
  TIMESTAMP: "timestamp",
};

/**
 * The Delta schema (schemaString) of a DuckDB relation's columns, as `Engine.columns` spells them.
 * Contract: VARCHAR/JSON/UUID string, BIGINT long, INTEGER integer, SMALLINT short, TINYINT byte,
 * DOUBLE double, FLOAT float, BOOLEAN boolean, DATE date, BLOB binary, TIMESTAMP [WITH TIME ZONE]
 * timestamp, DECIMAL(p,s) decimal(p,s), T[] / T[n] array, STRUCT struct, MAP map (recursively); every
 * field nullable. Any other type (HUGEINT, unsigned, INTERVAL, TIME, UNION ...) is refused naming the
 * column: the relation should cast it first.
 */
export function deltaSchemaFromColumns(columns: readonly { name: string; type: string }[]): DeltaSchema {
  return { type: "struct", fields: columns.map((c) => field(c.name, c.type)) };
}

/** Whether a DuckDB column type must be cast before writing (zone-less timestamps, JSON). */
export function writeCast(duckType: string): string | undefined {
  const t = duckType.trim().toUpperCase();
  if (t === "TIMESTAMP" || t === "TIMESTAMP_S" || t === "TIMESTAMP_MS" || t === "TIMESTAMP_NS") return "TIMESTAMPTZ";
  if (t === "JSON" || t === "UUID") return "VARCHAR";
  return undefined;
}

function field(name: string, duckType: string): DeltaField {
  return { name, type: deltaType(duckType.trim(), name), nullable: true, metadata: {} };
}

function deltaType(t: string, column: string): DeltaType {
  const upper = t.toUpperCase();
  const primitive = PRIMITIVES[upper];
  if (primitive) return primitive;
  const decimal = /^DECIMAL\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/i.exec(t);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  const list = /^(.*)\[\d*\]$/s.exec(t);
  if (list) return { type: "array", elementType: deltaType(list[1]!.trim(), column), containsNull: true };
  if (upper.startsWith("STRUCT(") && t.endsWith(")")) {
    const fields = splitTopLevel(t.slice(7, -1)).map((part) => {
      const { name, rest } = splitName(part.trim());
      return field(name, rest);
    });
    return { type: "struct", fields };
  }
  if (upper.startsWith("MAP(") && t.endsWith(")")) {
    const [k, v] = splitTopLevel(t.slice(4, -1));
    if (k !== undefined && v !== undefined) {
      return {
        type: "map",
        keyType: deltaType(k.trim(), column),
        valueType: deltaType(v.trim(), column),
        valueContainsNull: true,
      };
    }
  }
  throw deltaError(
    `the column ${column} has the DuckDB type ${t}, which has no Delta Lake type`,
    "cast it in a transform (e.g. to BIGINT, DOUBLE, VARCHAR or TIMESTAMPTZ) before writing a Delta table",
    "write",
  );
}

/** Splits "a INT, b STRUCT(x INT, y INT)" at the commas outside parentheses and quotes. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** `"my field" INT` or `name INT` -> the field name (unquoted) and its type. */
function splitName(part: string): { name: string; rest: string } {
  if (part.startsWith('"')) {
    let i = 1;
    let name = "";
    while (i < part.length) {
      if (part[i] === '"' && part[i + 1] === '"') {
        name += '"';
        i += 2;
      } else if (part[i] === '"') break;
      else name += part[i++];
    }
    return { name, rest: part.slice(i + 1).trim() };
  }
  const space = part.indexOf(" ");
  return { name: part.slice(0, space), rest: part.slice(space + 1).trim() };
}
