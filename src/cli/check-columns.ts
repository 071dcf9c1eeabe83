import type { PipelineConfig } from "../config/spec.js";
import { suggest } from "../config/suggest.js";
import { Engine } from "../engine/engine.js";
import { ident } from "../engine/sql.js";
import type { Source } from "../sources/source.js";
import { applyTransformSteps } from "../transforms/apply-transforms.js";
import type { Logger } from "../util/logger.js";

/** What `sluice check` found about the column names a pipeline's config uses. */
export interface ColumnCheck {
  /** One line per name the batch will not have: `pipeline X: partition_by names column "a", ...`. */
  readonly problems: string[];
  /** Why the names were not checked (the source cannot tell its columns, a transform could not run). */
  readonly skipped?: string;
}

/** Columns the runner adds before the sinks (lineage, ARCHITECTURE step 7). */
const LINEAGE = ["_run_id", "_batch_id", "_processing_type", "_ingested_at"];
/** Partition names the parquet sink derives from `time_column` when the batch has no such column. */
const DERIVED_PARTITIONS = ["event_date", "event_hour"];

/**
 * Checks that every column the pipeline names (dedup key and order_by, parquet partition_by and
 * time_column, duckdb order_by and indexes) exists in the batch: the source's columns, run through
 * the transforms over zero rows. Needs `source.columns`; reads no rows.
 */
export async function checkColumns(
  name: string,
  p: PipelineConfig,
  source: Source,
  ctx: { configDir: string; log: Logger },
): Promise<ColumnCheck> {
  if (!source.columns) return { problems: [], skipped: `the ${p.source.type} source cannot list its columns` };
  const engine = await Engine.open();
  try {
    let typed: { name: string; type: string }[];
    try {
      typed = await source.columns({ configDir: ctx.configDir, engine });
    } catch (err) {
      return { problems: [], skipped: `could not read the source's columns: ${firstLine(err)}` };
    }
    let columns = typed.map((c) => c.name);
    if (p.transforms.length) {
      try {
        columns = await transformedColumns(engine, p, ctx, typed);
      } catch (err) {
        return { problems: [], skipped: `could not run the transforms over zero rows: ${firstLine(err)}` };
      }
    }
    return { problems: missingColumns(name, p, columns) };
  } finally {
    engine.close();
  }
}

/** The columns after the transforms, found by running them over an empty table of the source's columns. */
async function transformedColumns(
  engine: Engine,
  p: PipelineConfig,
  ctx: { configDir: string; log: Logger },
  columns: { name: string; type: string }[],
): Promise<string[]> {
  const empty = "check_columns_input";
  const list = columns.map((c) => `${ident(c.name)} ${c.type}`).join(", ");
  await engine.run(`CREATE TABLE ${empty} (${list})`, "check");
  let n = 0;
  const out = await applyTransformSteps(
    {
      engine,
      configDir: ctx.configDir,
      log: ctx.log,
      contract: undefined,
      pipelineConfig: p,
      tmpName: (x) => `${x}_${++n}`,
    },
    empty,
    0,
  );
  return (await engine.columns(out.relation)).map((c) => c.name);
}

/** One problem line per configured column name that is not in `columns`. */
function missingColumns(pipeline: string, p: PipelineConfig, columns: readonly string[]): string[] {
  const uses: { key: string; names: readonly string[]; also?: readonly string[] }[] = [
    { key: "dedup.key", names: p.dedup.key ?? [] },
    { key: "dedup.order_by", names: p.dedup.order_by ? [p.dedup.order_by] : [] },
  ];
  for (const [i, sink] of p.sinks.entries()) {
    if (sink.dedup?.key) uses.push({ key: `sinks[${i}].dedup.key`, names: sink.dedup.key });
    if (sink.dedup?.order_by) uses.push({ key: `sinks[${i}].dedup.order_by`, names: [sink.dedup.order_by] });
    if (sink.type === "parquet") {
      uses.push({ key: "partition_by", names: sink.partition_by ?? [], also: [...DERIVED_PARTITIONS, ...LINEAGE] });
      uses.push({ key: "time_column", names: sink.time_column ? [sink.time_column] : [], also: LINEAGE });
    } else if (sink.type === "duckdb") {
      uses.push({ key: "order_by", names: sink.order_by ? [sink.order_by] : [], also: LINEAGE });
      uses.push({ key: "indexes", names: sink.indexes.flat(), also: LINEAGE });
    }
  }
  const out: string[] = [];
  for (const { key, names, also = [] } of uses) {
    for (const column of names) {
      if (columns.includes(column) || also.includes(column)) continue;
      const s = suggest(column, [...columns, ...also]);
      out.push(
        `pipeline ${pipeline}: ${key} names column ${JSON.stringify(column)}, which the source does not have ` +
          `(columns: ${columns.join(", ")})${s ? `; did you mean ${JSON.stringify(s)}?` : ""}`,
      );
    }
  }
  return out;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
}
