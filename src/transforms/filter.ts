import { firstLine, transformConfigError } from "./columns.js";
import type { Transform, TransformOf } from "./transform.js";

/**
 * `filter`: keeps the rows where `where` is true (NULL counts as false) and
 * logs how many it removed. The output is a table, so the count is exact
 * and later steps do not evaluate the predicate again. Rows removed here
 * are the only rows sluice drops on purpose: the run record reports them as
 * extracted minus the transformed batch's rows (see apply-transforms.ts).
 */
export const filter: Transform<TransformOf<"filter">> = async (ctx, input, config) => {
  const out = ctx.tmpName("t_filter");
  try {
    await ctx.engine.run(`CREATE TABLE ${out} AS SELECT * FROM ${input} WHERE (${config.where}) IS TRUE`, "transform");
  } catch (err) {
    const reason = firstLine(err);
    if (!/binder|parser|catalog/i.test(reason)) throw err;
    const names = (await ctx.engine.columns(input)).map((c) => c.name).filter((n) => !n.startsWith("_"));
    throw transformConfigError(
      `filter.where: DuckDB cannot evaluate \`${config.where}\`: ${reason}`,
      `the predicate is DuckDB SQL over the columns at this step: ${names.join(", ")}`,
    );
  }
  const before = await ctx.engine.count(input);
  const after = await ctx.engine.count(out);
  ctx.log.info(`filter removed ${before - after} of ${before} rows (where ${config.where})`);
  return out;
};
