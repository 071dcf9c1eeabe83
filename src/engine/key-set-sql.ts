import { ident } from "./sql.js";

/**
 * `(SELECT DISTINCT key FROM relation WHERE no key part is NULL)`: the keys a batch holds, as a
 * FROM item. Rows whose key has a NULL part identify nothing: they match no row by key.
 */
export function keySetSql(relation: string, key: readonly string[]): string {
  const k = key.map(ident);
  return `(SELECT DISTINCT ${k.join(", ")} FROM ${relation} WHERE ${k.map((c) => `${c} IS NOT NULL`).join(" AND ")})`;
}
