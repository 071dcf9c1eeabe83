import { SOURCE_POS } from "../engine/system-columns.js";
import { firstLine, transformConfigError } from "./columns.js";
import type { Transform, TransformOf } from "./transform.js";

/**
 * `sql`: any DuckDB SELECT over the relation `input` (the batch at this
 * step), e.g. `SELECT *, amount * 100 AS cents FROM input WHERE amount > 0`.
 *
 * `input` is a CTE placed in front of the query (merged into the query's
 * own WITH if it has one), so steps never collide on a name. Keep
 * `_source_pos` by selecting `*` (or naming it): without it, quarantined rows
 * and failure reports can no longer point at the source line. A query that
 * drops it still runs; the step logs a warning. Row count and order are the
 * query's: rows it removes count as filtered.
 */
export const sql: Transform<TransformOf<"sql">> = async (ctx, input, config) => {
  const query = withInput(config.query, input);
  const out = ctx.tmpName("t_sql");
  try {
    await ctx.engine.run(`CREATE VIEW ${out} AS ${query}`, "transform");
  } catch (err) {
    const reason = firstLine(err);
    const names = (await ctx.engine.columns(input)).map((c) => c.name).filter((n) => !n.startsWith("_"));
    throw transformConfigError(
      `sql.query: DuckDB cannot run the query: ${reason}`,
      `write a SELECT over \`input\`, whose columns at this step are: ${names.join(", ")}`,
    );
  }
  const before = (await ctx.engine.columns(input)).some((c) => c.name === SOURCE_POS);
  const after = (await ctx.engine.columns(out)).some((c) => c.name === SOURCE_POS);
  if (before && !after) {
    ctx.log.warn(
      "sql: the query drops `_source_pos`; quarantined rows will not say where they came from (SELECT * keeps it)",
    );
  }
  return out;
};

/** `WITH input AS (SELECT * FROM rel) <query>`, merged with the query's own leading WITH [RECURSIVE]. */
export function withInput(query: string, relation: string): string {
  const body = query.trim().replace(/;+\s*$/, "");
  const cte = `input AS (SELECT * FROM ${relation})`;
  const leadingWith = /^with(\s+recursive)?\s+/i.exec(body);
  if (leadingWith) {
    const recursive = leadingWith[1] ? " RECURSIVE" : "";
    return `WITH${recursive} ${cte}, ${body.slice(leadingWith[0].length)}`;
  }
  return `WITH ${cte} ${body}`;
}
