import type { ParquetSinkConfig } from "../../config/spec.js";
import { suggest } from "../../config/suggest.js";
import type { Engine } from "../../engine/engine.js";
import { ident } from "../../engine/sql.js";
import { ConfigError } from "../../errors.js";

/** One Hive partition column of a partitioned dataset. */
export interface PartitionColumn {
  readonly name: string;
  /** DuckDB type the values have in the batch; readers cast the folder names back to it. */
  readonly type: string;
  /** True when sluice computed it from the time column (event_date, event_hour): it is not a column of the rows. */
  readonly derived: boolean;
}

/** How a batch is split into partitions: the SELECT list to write and the PARTITION_BY columns. */
export interface PartitionPlan {
  /** SELECT list over the batch: `*` plus the derived partition columns. */
  readonly select: string;
  readonly columns: readonly PartitionColumn[];
}

/** Names sluice derives from the time column when the batch has no column of that name. */
const DERIVED: Record<string, { type: string; expr: (utc: string) => string }> = {
  event_date: { type: "DATE", expr: (utc) => `CAST(${utc} AS DATE)` },
  event_hour: { type: "INTEGER", expr: (utc) => `CAST(hour(${utc}) AS INTEGER)` },
};

const TIMESTAMP_TYPES = /^TIMESTAMP( WITH TIME ZONE|_S|_MS|_NS|TZ)?$/;

/**
 * Plans the partitions of a batch for the partitioned layout (SPEC section 8).
 *
 * `partition_by` (default `[event_date]`) names columns of the batch, or
 * `event_date` / `event_hour`, derived in UTC from `time_column` (default:
 * the first TIMESTAMP or TIMESTAMPTZ column that is not a `_` lineage
 * column) when the batch has no column of that name. Throws a ConfigError
 * naming the column when the config asks for something the batch lacks.
 */
export async function planPartitions(
  engine: Engine,
  relation: string,
  config: ParquetSinkConfig,
): Promise<PartitionPlan> {
  const cols = await engine.columns(relation);
  const byName = new Map(cols.map((c) => [c.name, c.type]));
  const names = config.partition_by?.length ? config.partition_by : ["event_date"];
  const columns: PartitionColumn[] = [];
  const derivedExprs: string[] = [];
  for (const name of names) {
    const type = byName.get(name);
    if (type !== undefined) {
      columns.push({ name, type, derived: false });
      continue;
    }
    const derived = DERIVED[name];
    if (!derived) {
      const guess = suggest(name, [...byName.keys()]);
      throw new ConfigError(
        `parquet sink ${config.path}: partition_by column \`${name}\` is not a column of the batch`,
        guess
          ? `did you mean \`${guess}\`?`
          : `columns: ${[...byName.keys()].join(", ")}; or use event_date / event_hour, derived from time_column`,
      );
    }
    const utc = utcExpression(timeColumn(config, cols), config);
    columns.push({ name, type: derived.type, derived: true });
    derivedExprs.push(`${derived.expr(utc)} AS ${ident(name)}`);
  }
  return { select: ["*", ...derivedExprs].join(", "), columns };
}

function timeColumn(config: ParquetSinkConfig, cols: readonly { name: string; type: string }[]) {
  if (config.time_column) {
    const col = cols.find((c) => c.name === config.time_column);
    if (!col) {
      const guess = suggest(
        config.time_column,
        cols.map((c) => c.name),
      );
      throw new ConfigError(
        `parquet sink ${config.path}: time_column \`${config.time_column}\` is not a column of the batch`,
        guess ? `did you mean \`${guess}\`?` : `columns: ${cols.map((c) => c.name).join(", ")}`,
      );
    }
    return col;
  }
  const col = cols.find((c) => TIMESTAMP_TYPES.test(c.type) && !c.name.startsWith("_"));
  if (!col) {
    throw new ConfigError(
      `parquet sink ${config.path}: the batch has no TIMESTAMP column to derive event_date/event_hour from`,
      "set `time_column`, or `partition_by` to columns of the batch",
    );
  }
  return col;
}

/** The time column as a UTC wall-clock TIMESTAMP (DATE columns stay dates: event_date only). */
function utcExpression(col: { name: string; type: string }, config: ParquetSinkConfig): string {
  if (col.type === "TIMESTAMP WITH TIME ZONE") return `timezone('UTC', ${ident(col.name)})`;
  if (TIMESTAMP_TYPES.test(col.type) || col.type === "DATE") return `CAST(${ident(col.name)} AS TIMESTAMP)`;
  throw new ConfigError(
    `parquet sink ${config.path}: time_column \`${col.name}\` is ${col.type}, not a timestamp`,
    "cast it first (a `cast` or `timezone` transform), or partition by another column",
  );
}
