import type { TransformConfig } from "../config/spec.js";
import { cast } from "./cast.js";
import { derive } from "./derive.js";
import { filter } from "./filter.js";
import { http } from "./http.js";
import { map } from "./map.js";
import { pii } from "./pii.js";
import { rename } from "./rename.js";
import { sql } from "./sql.js";
import { timezone } from "./timezone.js";
import type { Transform, TransformContext, TransformOf } from "./transform.js";

/** Every transform by its `type`. A new transform adds its spec in config/spec.ts and one line here. */
export const transforms: { readonly [T in TransformConfig["type"]]: Transform<TransformOf<T>> } = {
  rename,
  cast,
  timezone,
  derive,
  map,
  pii,
  filter,
  sql,
  http,
};

/** Runs one transform step of any type. */
export function runTransform(ctx: TransformContext, input: string, config: TransformConfig): Promise<string> {
  const step = transforms[config.type] as Transform<TransformConfig>;
  return step(ctx, input, config);
}
