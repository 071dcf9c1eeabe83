import { ident } from "../engine/sql.js";
import { firstLine, refuseSourcePos, transformConfigError } from "./columns.js";
import type { Transform, TransformOf } from "./transform.js";

/**
 * `derive`: `columns: {name: "SQL expression"}`, evaluated per row over the
 * step's input. A new name is appended; an existing one is replaced in place.
 * Columns are derived in the order written, so a later expression may use an
 * earlier derived column (event_date, then a day_of_week from it). An
 * expression DuckDB cannot bind (unknown column, wrong function) is a config
 * error naming the column and expression.
 */
export const derive: Transform<TransformOf<"derive">> = async (ctx, input, config) => {
  let current = input;
  for (const [name, expression] of Object.entries(config.columns)) {
    refuseSourcePos(name, "derive.columns");
    const names = (await ctx.engine.columns(current)).map((c) => c.name);
    const expr = `(${expression})`;
    const select = names.includes(name) ? `* REPLACE (${expr} AS ${ident(name)})` : `*, ${expr} AS ${ident(name)}`;
    const out = ctx.tmpName("t_derive");
    try {
      await ctx.engine.run(`CREATE VIEW ${out} AS SELECT ${select} FROM ${current}`, "transform");
    } catch (err) {
      const reason = firstLine(err);
      throw transformConfigError(
        `derive.columns.${name}: DuckDB cannot evaluate \`${expression}\`: ${reason}`,
        `expressions are DuckDB SQL over the columns at this step: ${names.filter((n) => !n.startsWith("_")).join(", ")}`,
      );
    }
    current = out;
  }
  return current;
};
