import type pg from "pg";
import type { PgColumn } from "./pg-types.js";

/**
 * The columns `fromSql` (a table, or a parenthesised query with an alias)
 * yields, with their PostgreSQL types from the catalog: the server
 * describes `SELECT * ... LIMIT 0` (domains arrive as their base type), then
 * pg_type and format_type name each type. One path for tables and queries,
 * and the list matches what COPY of the same SELECT writes.
 */
export async function describeColumns(client: pg.Client, fromSql: string): Promise<PgColumn[]> {
  const probe = await client.query(`SELECT * FROM ${fromSql} LIMIT 0`);
  const fields = probe.fields;
  if (fields.length === 0) return [];
  const types = await client.query<{
    ord: string;
    formatted: string;
    typname: string;
    typtype: string;
    typcategory: string;
    collatable: boolean;
    elem_typname: string | null;
    elem_typtype: string | null;
  }>(
    `SELECT f.ord, format_type(t.oid, f.mod) AS formatted, t.typname::text AS typname, t.typtype::text AS typtype,
            t.typcategory::text AS typcategory, t.typcollation <> 0 AS collatable,
            e.typname::text AS elem_typname, e.typtype::text AS elem_typtype
       FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS f(oid, mod, ord)
       JOIN pg_type t ON t.oid = f.oid
       LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
      ORDER BY f.ord`,
    [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
  );
  return fields.map((f, i) => {
    const t = types.rows[i]!;
    return {
      name: f.name,
      formatted: t.formatted,
      typname: t.typname,
      typtype: t.typtype,
      typcategory: t.typcategory,
      typmod: f.dataTypeModifier,
      collatable: t.collatable,
      ...(t.elem_typname ? { elem: { typname: t.elem_typname, typtype: t.elem_typtype ?? "b" } } : {}),
    };
  });
}

/** The primary key columns of a table, in key order; [] when it has none. */
export async function primaryKey(client: pg.Client, oid: number): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisprimary
      ORDER BY k.ord`,
    [oid],
  );
  return r.rows.map((x) => x.name);
}
