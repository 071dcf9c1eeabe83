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
 * A cuid-shaped id (`c` + 24 of [a-z0-9]): `c`, 8 digits of the creation
 * time in ms, a 4-digit counter, a 4-digit fingerprint and 8 random digits,
 * like cuid v1. `tsMs`, `counter` and `fingerprint` are SQL integer
 * expressions; `random` a UBIGINT hash expression.
 */
export function cuidSql(tsMs: string, counter: string, fingerprint: string, random: string): string {
  return `('c' || ${base36Sql(tsMs, 8)} || ${base36Sql(counter, 4)} || ${base36Sql(fingerprint, 4)} || ${base36Sql(random, 8)})`;
}

/**
 * `CASE` choosing among `values` (SQL literals) with the given cumulative
 * weights from `unit` (a [0,1) expression). Weights need not sum to 1.
 */
export function weightedSql(unit: string, choices: readonly (readonly [string, number])[]): string {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  const whens = choices.slice(0, -1).map(([value, w]) => {
    acc += w / total;
    return `WHEN ${unit} < ${acc.toFixed(6)} THEN ${value}`;
  });
  return `CASE ${whens.join(" ")} ELSE ${choices.at(-1)![0]} END`;
}

/** A SQL list literal of string literals, for `list[k + 1]` picks of small constant sets. */
export function stringListSql(values: readonly string[]): string {
  return `[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")}]`;
}
