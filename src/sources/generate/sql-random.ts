/**
 * SQL snippets for deterministic pseudo-random values, evaluated by DuckDB
 * per row. Every value is a pure function of its arguments through DuckDB's
 * `hash()`, so the same seed gives the same rows, in the same order, on every
 * run with the same DuckDB version; no value is drawn in JavaScript.
 *
 * The helpers return SQL text; their arguments are SQL expressions built by
 * the generators themselves (never user text).
 */

/** A UBIGINT hash of the arguments: `hash(i, seed, salt)`. */
export function hashSql(...args: (string | number | bigint)[]): string {
  return `hash(${args.join(", ")})`;
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
 * A cuid-shaped id (`c` + 24 of [a-z0-9]) laid out like cuid v1: 8 digits of
 * the creation time in ms, a 4-digit counter, a 4-digit fingerprint and 8
 * random digits. Arguments are SQL integer expressions (hashes allowed);
 * each is reduced to its width. Two base-36 conversions and one lower():
 * about 170 ns per row.
 */
export function cuidSql(tsMs: string, counter: string, fingerprint: string, random: string): string {
  const head = `((${tsMs}) % ${36n ** 8n})::BIGINT * 1679616 + ((${counter}) % 1679616)::BIGINT`;
  const tail = `((${fingerprint}) % 1679616)::BIGINT * ${36n ** 8n} + ((${random}) % ${36n ** 8n})::BIGINT`;
  return `lower(concat('c', to_base(${head}, 36, 12), to_base(${tail}, 36, 12)))`;
}

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
