import type { GenerateSourceConfig } from "../../config/spec.js";
import { ident, literal } from "../../engine/sql.js";
import type { ExtractResult, Source, SourceContext } from "../source.js";
import { datasetNamed } from "./datasets.js";
import { generateDataset } from "./generate-dataset.js";
import type { GenerateOptions } from "./generation-plan.js";
import { planGeneration } from "./generation-plan.js";

/** Column holding the user of each dataset, for `sluice run --user-id`. */
const USER_COLUMN: Readonly<Record<string, string>> = {
  behavioral_events: "userId",
  customer_events: "user_id",
  transactions: "account_id",
  pubsub: "key",
};

/**
 * `source: { type: generate }`: a built-in synthetic dataset, made inside
 * the run's DuckDB session (no rows pass through JavaScript).
 *
 * Contract: delivers the dataset's columns with their real types plus
 * `_source_pos` ("row N", 1-based), in generation order; the batch is the
 * whole dataset (`replace`). `--days` overrides `days`; `--user-id` keeps one
 * user's rows. Same config (seed and anchor) -> same rows.
 */
export class GenerateSource implements Source {
  constructor(private readonly config: GenerateSourceConfig) {}

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    const options = this.options(ctx.options.days);
    const relation = ctx.tmpName("src_generate");
    const generated = await generateDataset(ctx.engine, options, relation, { sourcePos: true });
    let rows = generated.rows;
    const userColumn = USER_COLUMN[this.config.dataset];
    if (ctx.options.userId !== undefined && userColumn) {
      await ctx.engine.run(
        `DELETE FROM ${ident(relation)} WHERE ${ident(userColumn)} IS DISTINCT FROM ${literal(ctx.options.userId)}`,
        "extract",
      );
      rows = await ctx.engine.count(ident(relation));
    }
    const { plan } = generated;
    return {
      relation,
      rows,
      extent: "replace",
      description: `generate ${plan.dataset} (${plan.rows} rows, seed ${plan.seed}${ctx.options.userId !== undefined ? `, user ${ctx.options.userId}` : ""})`,
    };
  }

  async check(): Promise<string> {
    const plan = planGeneration(this.options(undefined), datasetNamed(this.config.dataset));
    return `generate ${plan.dataset}: ${plan.rows} rows, seed ${plan.seed}, ${plan.days} days to ${plan.anchorIso}`;
  }

  /** The dataset's columns, from a zero-row generation. */
  async columns(ctx: Pick<SourceContext, "engine">): Promise<{ name: string; type: string }[]> {
    const probe = "generate_columns_probe";
    await generateDataset(ctx.engine, { ...this.options(undefined), rows: 0 }, probe);
    return ctx.engine.columns(ident(probe));
  }

  private options(days: number | undefined): GenerateOptions {
    const c = this.config;
    return {
      dataset: c.dataset,
      rows: c.rows,
      seed: c.seed,
      days: days ?? c.days,
      ...(c.anchor !== undefined ? { anchor: c.anchor } : {}),
      ...(c.users !== undefined ? { users: c.users } : {}),
      ...(c.chaos !== undefined ? { chaos: c.chaos } : {}),
    };
  }
}
