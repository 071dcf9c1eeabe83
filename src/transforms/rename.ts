import { ident } from "../engine/sql.js";
import { failMarker, parseFailMarker } from "../engine/system-columns.js";
import { refuseSourcePos, requireColumn, transformConfigError } from "./columns.js";
import { toCase } from "./to-case.js";
import type { Transform, TransformOf } from "./transform.js";

/**
 * `rename`: explicit `columns: {old: new}` and/or `case` conversion of every
 * other column. An explicitly renamed column keeps the name given; `case`
 * converts the rest (names starting with `_` are left alone). Fail markers
 * follow their column. Two columns ending with the same name is an error,
 * as is an explicit source column that does not exist.
 */
export const rename: Transform<TransformOf<"rename">> = async (ctx, input, config) => {
  const columns = (await ctx.engine.columns(input)).map((c) => c.name);
  const explicit = config.columns ?? {};
  for (const [from, to] of Object.entries(explicit)) {
    requireColumn(columns, from, "rename.columns");
    refuseSourcePos(from, "rename.columns");
    refuseSourcePos(to, "rename.columns");
  }
  const newName = (name: string): string => {
    const marker = parseFailMarker(name);
    if (marker) return failMarker(marker.rule, newName(marker.column));
    const to = explicit[name];
    if (to !== undefined) return to;
    return config.case ? toCase(name, config.case) : name;
  };

  const seen = new Map<string, string>();
  for (const c of columns) {
    const to = newName(c);
    const clash = seen.get(to);
    if (clash !== undefined) {
      throw transformConfigError(
        `rename: columns \`${clash}\` and \`${c}\` would both be named \`${to}\``,
        "rename one of them explicitly in `columns`, or drop one first (pii drop or a sql step)",
      );
    }
    seen.set(to, c);
  }
  const select = columns.map((c) => {
    const to = newName(c);
    return to === c ? ident(c) : `${ident(c)} AS ${ident(to)}`;
  });
  const out = ctx.tmpName("t_rename");
  await ctx.engine.run(`CREATE VIEW ${out} AS SELECT ${select.join(", ")} FROM ${input}`, "transform");
  return out;
};
