import type pg from "pg";
import { suggest } from "../../config/suggest.js";
import { SluiceError } from "../../errors.js";

/** A table (or view) the source reads. */
export interface FoundTable {
  readonly schema: string;
  readonly name: string;
  readonly oid: number;
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign. */
  readonly relkind: string;
  /** Planner's row estimate (-1: never analyzed). */
  readonly reltuples: number;
  /** `public."BehavioralEvent"`: for messages (PostgreSQL's own quoting). */
  readonly label: string;
  /** `"public"."BehavioralEvent"`: for SQL. */
  readonly sql: string;
}

/**
 * Finds the first candidate that exists: candidates in the order given,
 * each looked up in `schema` when set, else along the session's
 * search_path. A candidate may be schema-qualified (`analytics.events`).
 *
 * Throws a terminal SluiceError (42P01) naming every candidate and the
 * schemas searched, with the closest existing name when one looks like a typo.
 */
export async function findTable(
  client: pg.Client,
  candidates: readonly string[],
  schema: string | undefined,
  where: string,
): Promise<FoundTable> {
  const schemas = schema
    ? [schema]
    : // As JSON text: the driver's array parsing of name[] differs across server versions.
      (JSON.parse(
        (await client.query<{ s: string }>("SELECT array_to_json(current_schemas(false))::text AS s")).rows[0]!.s,
      ) as string[]);
  const pairs: [string, string][] = [];
  for (const c of candidates) {
    const dot = c.indexOf(".");
    if (!schema && dot > 0 && !c.startsWith('"')) pairs.push([c.slice(0, dot), c.slice(dot + 1)]);
    for (const s of schemas) pairs.push([s, c]);
  }
  const found = await client.query<{ schema: string; name: string; oid: string; relkind: string; reltuples: number }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int8 AS oid, c.relkind::text AS relkind,
            c.reltuples::float8 AS reltuples, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS label
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS p(sch, rel, ord)
       JOIN pg_namespace n ON n.nspname = p.sch
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.rel AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      ORDER BY p.ord
      LIMIT 1`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
  const row = found.rows[0] as (typeof found.rows)[0] & { label: string };
  if (row) {
    return {
      schema: row.schema,
      name: row.name,
      oid: Number(row.oid),
      relkind: row.relkind,
      reltuples: row.reltuples,
      label: row.label,
      sql: `${client.escapeIdentifier(row.schema)}.${client.escapeIdentifier(row.name)}`,
    };
  }
  if (schema) {
    const known = await client.query<{ name: string }>(
      "SELECT nspname AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
    );
    const names = known.rows.map((r) => r.name);
    if (!names.includes(schema)) {
      const near = suggest(schema, names);
      const err = new SluiceError(`schema "${schema}" does not exist in ${where}`, {
        component: "source:postgres",
        stage: "extract",
        hint: `${near ? `did you mean "${near}"? ` : ""}set \`schema\` or the URL's ?schema= to one of: ${names.slice(0, 20).join(", ")}`,
      });
      Object.assign(err, { code: "3F000" });
      throw err;
    }
  }
  const existing = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1 LIMIT 2000`,
    [schemas],
  );
  const names = existing.rows.map((r) => r.name);
  const near = candidates.map((c) => suggest(c, names)).find((s) => s !== undefined);
  const list = candidates.map((c) => `"${c}"`).join(", ");
  const searched = schemas.length ? schemas.join(", ") : "(empty search_path)";
  const err = new SluiceError(`no table among the candidates ${list} in schema ${searched} of ${where}`, {
    component: "source:postgres",
    stage: "extract",
    hint: near
      ? `did you mean "${near}"? Set \`table\` to the exact (case-sensitive) name`
      : `create the table, or set \`table\` to an existing one and \`schema\` (or ?schema= in the URL) to its schema${names.length ? `; tables in ${searched}: ${names.slice(0, 10).join(", ")}${names.length > 10 ? " ..." : ""}` : ""}`,
  });
  Object.assign(err, { code: "42P01" });
  throw err;
}
