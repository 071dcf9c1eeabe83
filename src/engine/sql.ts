/** SQL text helpers for DuckDB. Identifiers and literals are always quoted here, never spliced by hand. */

/** Quotes an identifier: `userId` -> `"userId"`. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a qualified name: ["research", "events"] -> `"research"."events"`. */
export function qualified(...parts: string[]): string {
  return parts.map(ident).join(".");
}

/** Quotes a string literal: it's -> 'it''s'. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL literal for a JS scalar (string, number, boolean, null, Date). */
export function valueLiteral(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "NULL";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (value instanceof Date) return `TIMESTAMPTZ ${literal(value.toISOString())}`;
  return literal(String(value));
}

/** `[a, b]` -> `'a', 'b'` for IN lists. */
export function literalList(values: readonly unknown[]): string {
  return values.map(valueLiteral).join(", ");
}
