import { mix64 } from "./dimension-ids.js";

/**
 * SQL snippets for deterministic pseudo-random values, evaluated by DuckDB
 * per row. Every value is a pure function of its arguments through DuckDB's
 * `hash()`, so the same seed gives the same rows, in the same order, on every
 * run with the same DuckDB version; no value is drawn in JavaScript.
 *
 * The helpers return SQL text; their arguments are SQL expressions built by
 * the generators themselves (never user text).
 */

/**
 * A UBIGINT pseudo-random value for `key` (an SQL expression, or several
 * separated by commas), independent for each (seed, salt).
 *
 * DuckDB combines the hashes of several arguments by XOR, so
 * `hash(x, seed, 1)` and `hash(x, seed, 2)` differ by a constant and their
 * high bits are correlated. Here the key's hash is XORed with a well-mixed
 * constant of (seed, salt) and hashed again: murmur's finalizer makes the
 * streams of different salts independent.
 */
export function hashSql(key: string, seed: number, salt: number): string {
  return `hash(xor(hash(${key}), ${mix64(seed, salt, 0)}::UBIGINT))`;
}

/** A DOUBLE uniform in [0, 1) from 53 bits of `hashExpr`. */
export function unitSql(hashExpr: string): string {
  return `((${hashExpr} >> 11)::DOUBLE / 9007199254740992.0)`;
}

/** An INTEGER uniform in [0, n) from `hashExpr`. */
export function belowSql(hashExpr: string, n: number): string {
  return `(${hashExpr} % ${n})::INTEGER`;
}

/** `value` in base 36, lower case, exactly `width` digits (wraps modulo 36^width). */
export function base36Sql(value: string, width: number): string {
  return `lower(to_base(((${value}) % ${36n ** BigInt(width)})::BIGINT, 36, ${width}))`;
}

/** Base-36 digits for one character: `alphabet[k]` for 0 <= k < 36. */
export const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * `CASE` yielding the 0-based index of a choice drawn from `unit` (a [0,1)
 * SQL expression) with the given weights (they need not sum to 1).
 */
export function weightedIndexSql(unit: string, weights: readonly number[]): string {
  const total = weights.reduce((s, w) => s + w, 0);
  let acc = 0;
  const whens = weights.slice(0, -1).map((w, k) => {
    acc += w / total;
    return `WHEN ${unit} < ${acc.toFixed(6)} THEN ${k}`;
  });
  return `(CASE ${whens.join(" ")} ELSE ${weights.length - 1} END)`;
}

/** A SQL list literal of string literals. */
export function stringListSql(values: readonly string[]): string {
  return `[${values.map(quote).join(", ")}]`;
}

/** `ENUM('a', 'b', ...)` of distinct values, in first-seen order. */
export function enumTypeSql(values: readonly string[]): string {
  return `ENUM(${[...new Set(values)].map(quote).join(", ")})`;
}

/**
 * `values[index]` (0-based SQL integer `index`) from a small constant list:
 * cheap per row. As an ENUM of `domain` (default: the values) when `asEnum`.
 */
export function pickSql(values: readonly string[], index: string, asEnum = false, domain = values): string {
  const list = stringListSql(values);
  return asEnum ? `(${list}::${enumTypeSql(domain)}[])[${index} + 1]` : `${list}[${index} + 1]`;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
