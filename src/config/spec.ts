import { z } from "zod";
import { alertSpec, configAlertFields, pipelineAlertFields } from "./alert-spec.js";
import { deadLetterSpec } from "./dead-letter-spec.js";
import { fileSelectionSpec } from "./file-source-spec.js";
import { httpTransformSpec } from "./http-spec.js";
import { postgresSinkFields } from "./postgres-sink-spec.js";
import { natsSinkFields, redisStreamSinkFields } from "./publish-sink-spec.js";
import { configRollupFields, pipelineHookFields } from "./rollup-spec.js";
import { configServeFields, pipelineScheduleFields } from "./schedule-spec.js";
import { pubsubSourceSpec, streamSettings } from "./stream-spec.js";

/**
 * The one spec of sluice's configuration (SPEC section 3).
 *
 * This zod schema is at once the validator (unknown keys are errors: every
 * object is strict), the JSON Schema printed by `sluice schema`, and the
 * TypeScript types of `definePipeline`. Each field carries a description;
 * component-specific parts live next to their component and are composed here.
 */

const identifier = z.string().min(1);

/** Largest `days` (config and `--days`): 100 years; larger windows overflow PostgreSQL's timestamps. */
export const MAX_DAYS = 36500;
const DAYS_MESSAGE = `expected a whole number of days from 1 to ${MAX_DAYS}`;

/** A span in days: a whole number from 1 to MAX_DAYS (`--days` is checked by the same spec). */
export const daysSpec = z
  .number({ error: DAYS_MESSAGE })
  .int({ error: DAYS_MESSAGE })
  .min(1, { error: DAYS_MESSAGE })
  .max(MAX_DAYS, { error: DAYS_MESSAGE });

/** A list of column names; a single name is accepted as a one-element list (`partition_by: event_date`). */
const columnListSpec = z.union([z.string().transform((name) => [name]), z.array(z.string())]);

// ---------------------------------------------------------------- contracts

export const columnTypeSpec = z.enum(["string", "integer", "number", "boolean", "timestamp", "date", "json"]);

export const columnSpec = z
  .strictObject({
    type: columnTypeSpec.describe("Logical type; values that do not cast fail the `type` rule."),
    required: z.boolean().optional().describe("NULL or missing fails the `required` rule."),
    enum: z
      .array(z.union([z.string(), z.number()]))
      .optional()
      .describe("Allowed values."),
    pattern: z.string().optional().describe("Regular expression (RE2) the whole value must match."),
    min: z.number().optional().describe("Smallest allowed value (numbers) ."),
    max: z.number().optional().describe("Largest allowed value (numbers)."),
    min_length: z.number().int().nonnegative().optional().describe("Shortest allowed string."),
    max_length: z.number().int().nonnegative().optional().describe("Longest allowed string."),
    not_future: z.boolean().optional().describe("Timestamps/dates after the run's start fail."),
    unique: z.boolean().optional().describe("Unique within the batch (and against the table for merge/eager)."),
  })
  .describe("One column of a contract: its type and rules.");

export const contractSpec = z
  .strictObject({
    columns: z.record(z.string(), columnSpec).describe("Expected columns, in order."),
    extra_columns: z
      .enum(["reject", "keep", "drop"])
      .default("reject")
      .describe("What to do with columns the contract does not list."),
  })
  .describe("A data contract: expected columns, types and rules.");

// ---------------------------------------------------------------- sources

const retriesSpec = z
  .strictObject({
    attempts: z.number().int().min(1).default(3).describe("Total attempts for transient failures."),
    backoff_seconds: z.number().nonnegative().default(2).describe("First backoff; doubles each attempt, with jitter."),
  })
  .describe("Retry policy for transient errors.");

export const chaosSpec = z
  .strictObject({
    seed: z.number().int().optional(),
    dup_rate: z
      .union([z.number(), z.tuple([z.number(), z.number()])])
      .optional()
      .describe("Share of rows repeated."),
    out_of_order_rate: z.union([z.number(), z.tuple([z.number(), z.number()])]).optional(),
    invalid_rate: z.union([z.number(), z.tuple([z.number(), z.number()])]).optional(),
    missing_rate: z
      .union([z.number(), z.record(z.string(), z.number())])
      .optional()
      .describe("Share of NULLs, overall or per column."),
    delay_ms: z.number().optional(),
    jitter_ms: z.number().optional(),
  })
  .describe("Defects injected into generated data.");

export const generateSourceSpec = z.strictObject({
  type: z.literal("generate"),
  dataset: z.enum(["behavioral_events", "transactions", "pubsub", "customer_events"]).describe("Built-in dataset."),
  rows: z.number().int().nonnegative().default(10000).describe("Rows to generate."),
  seed: z.number().int().default(42).describe("Same seed, same bytes."),
  anchor: z.string().optional().describe("ISO instant the generated timestamps end at; default: start of today (UTC)."),
  days: daysSpec.default(90).describe("Span of generated timestamps, in days before the anchor."),
  users: z.number().int().positive().optional().describe("Number of distinct users."),
  chaos: chaosSpec.optional(),
});

export const fileSourceSpec = z.strictObject({
  type: z.literal("file"),
  path: z.union([z.string(), z.array(z.string())]).describe("Local path or glob (relative to the config file)."),
  format: z
    .enum(["jsonl", "csv", "parquet", "delta"])
    .optional()
    .describe("Overrides the format read from the extension; `delta`: `path` is a Delta Lake table's folder."),
  version: z.number().int().min(0).optional().describe("format delta: read the table as of this version."),
  timestamp: z.string().optional().describe("format delta: read the table as of this instant (ISO 8601)."),
  header: z.boolean().default(true).describe("CSV: first line is a header."),
  delimiter: z.string().default(",").describe("CSV field delimiter."),
  quote: z.string().default('"').describe("CSV quote character."),
  files: fileSelectionSpec,
});

export const postgresSourceSpec = z.strictObject({
  type: z.literal("postgres"),
  url: z.string().optional().describe("postgres:// URL; defaults to $DATABASE_URL. ?schema=public is accepted."),
  table: z
    .union([z.string(), z.array(z.string()).min(1)])
    .optional()
    .describe("Table, or candidate names: first that exists wins."),
  query: z.string().optional().describe("A SELECT to export instead of a table."),
  schema: z.string().optional().describe("Schema of the table; defaults to the URL's ?schema= or search_path."),
  columns: z.array(z.string()).optional().describe("Columns to export; default all."),
  cursor: z.string().optional().describe("Column used for windows and incremental loads."),
  key: z
    .array(z.string())
    .optional()
    .describe("Primary key used as the incremental tie-breaker; default: the table's."),
  mode: z.enum(["window", "incremental", "full"]).default("full"),
  days: daysSpec.optional().describe("window mode: how many days back on `cursor`."),
  lookback: z.string().optional().describe("incremental: re-read rows this far behind the watermark, e.g. '1 hour'."),
  where: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
    .optional()
    .describe("Equality filters, sent as bound parameters."),
});

export const natsSourceSpec = z.strictObject({
  type: z.literal("nats"),
  url: z.string().default("nats://127.0.0.1:4222"),
  stream: z.string().describe("The JetStream stream."),
  subject: z.string().optional().describe("Only messages of this subject (a filter of the stream's subjects)."),
  durable: z.string().describe("The durable consumer's name (recreated at the committed position at each start)."),
  partitions: z
    .number()
    .int()
    .positive()
    .max(1024)
    .default(1)
    .describe(
      "Partition subjects `<subject>.0` .. `<subject>.<N-1>` (publish with ?partitions=N): up to N `sluice stream` workers share the stream, one partition each (durable `<durable>-<k>`).",
    ),
  format: z.enum(["json"]).default("json"),
  ack_wait_ms: z
    .number()
    .int()
    .positive()
    .default(300_000)
    .describe("How long the server waits for an ack before redelivering (cover the slowest write)."),
  ...streamSettings,
});

export const redisStreamSourceSpec = z.strictObject({
  type: z.literal("redis_stream"),
  url: z.string().default("redis://127.0.0.1:6379"),
  stream: z.string().describe("The stream key."),
  group: z.string().describe("The consumer group (created at the stream's start when missing)."),
  consumer: z.string().optional().describe("This worker's consumer name; default `sluice-<pipeline>`."),
  field: z.string().default("data").describe("The entry field holding the JSON record (else all fields)."),
  claim_idle_ms: z.number().int().positive().default(30000),
  ...streamSettings,
});

export const sourceSpec = z
  .discriminatedUnion("type", [
    postgresSourceSpec,
    fileSourceSpec,
    generateSourceSpec,
    natsSourceSpec,
    redisStreamSourceSpec,
    pubsubSourceSpec,
  ])
  .describe("Where the rows come from; `type` selects the source.");

// ---------------------------------------------------------------- transforms

const caseSpec = z.enum(["snake_case", "camelCase"]);
export const transformSpec = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("rename"),
      columns: z.record(z.string(), z.string()).optional().describe("old name -> new name"),
      case: caseSpec.optional().describe("Convert every column name to this case."),
    }),
    z.strictObject({
      type: z.literal("cast"),
      columns: z.record(z.string(), z.string()).describe("column -> DuckDB type or contract type"),
    }),
    z.strictObject({
      type: z.literal("timezone"),
      columns: z.array(z.string()).min(1).describe("Timestamp columns to normalize to UTC."),
      source_zone: z.string().default("UTC").describe("IANA zone of values written without an offset."),
    }),
    z.strictObject({
      type: z.literal("derive"),
      columns: z.record(z.string(), z.string()).describe("new column -> SQL expression"),
    }),
    z.strictObject({
      type: z.literal("map"),
      column: z.string().describe("Column whose values are translated."),
      from: z.union([
        z.strictObject({ file: z.string(), key: z.string(), value: z.string() }),
        z.strictObject({
          postgres: z.string().optional().describe("URL; default $DATABASE_URL"),
          table: z.string(),
          key: z.string(),
          value: z.string(),
        }),
      ]),
      target: z.string().optional().describe("Column to write the mapped value to; default: replace `column`."),
      unmapped: z.enum(["keep", "flag", "quarantine"]).default("flag"),
    }),
    z.strictObject({
      type: z.literal("pii"),
      columns: z.record(z.string(), z.enum(["hash", "mask", "drop"])),
      salt_env: z.string().default("SLUICE_PII_SALT").describe("Environment variable holding the hash salt."),
    }),
    z.strictObject({
      type: z.literal("filter"),
      where: z.string().describe("SQL predicate; rows where it is true are kept."),
    }),
    z.strictObject({
      type: z.literal("sql"),
      query: z.string().describe("A DuckDB SELECT over the relation `input`."),
    }),
    httpTransformSpec,
  ])
  .describe("A transform step; applied in order to every batch.");

// ---------------------------------------------------------------- sinks

export const dedupSpec = z
  .strictObject({
    strategy: z.enum(["none", "bronze_append", "merge", "eager"]).default("none"),
    key: z.array(z.string()).optional().describe("Columns identifying a record."),
    order_by: z.string().optional().describe("merge: the latest by this column wins."),
  })
  .describe("Duplicate handling.");

/** A sink's own strategy: overrides the pipeline's `dedup` for it (key and order_by default to the pipeline's). */
const sinkDedup = dedupSpec.optional().describe("This sink's dedup strategy; default: the pipeline's `dedup`.");

export const parquetSinkSpec = z.strictObject({
  type: z.literal("parquet"),
  path: z.string().describe("Directory under data_dir, e.g. raw/behavioral_events."),
  dataset: z.string().optional().describe("File name stem; default: the last segment of `path`."),
  layout: z.enum(["snapshot", "partitioned"]).default("snapshot"),
  format: z
    .enum(["parquet", "delta"])
    .default("parquet")
    .describe(
      "partitioned layout: plain Hive folders (parquet), or a Delta Lake table with a transaction log (delta).",
    ),
  partition_by: columnListSpec
    .optional()
    .describe("partitioned layout: columns, or event_date/event_hour derived from `time_column`."),
  time_column: z.string().optional().describe("Timestamp column event_date/event_hour derive from."),
  compression: z.enum(["snappy", "zstd", "gzip", "none"]).default("snappy"),
  parquet_version: z
    .enum(["v1", "v2"])
    .default("v2")
    .describe("v2 (smaller: DELTA encodings) or v1 for readers that predate Parquet v2 pages."),
  row_group_size: z.number().int().positive().optional(),
  dedup: sinkDedup,
});

export const duckdbSinkSpec = z.strictObject({
  type: z.literal("duckdb"),
  path: z.string().optional().describe("Warehouse file; default: the top-level `warehouse`."),
  schema: z.string().default("research"),
  table: z.string(),
  mode: z.enum(["view", "table"]).default("view"),
  order_by: z.string().optional().describe("table mode: physical order of the rows."),
  indexes: z.array(z.array(z.string()).min(1)).default([]).describe("table mode: index column lists."),
  on_error: z.enum(["warn", "fail"]).default("warn"),
  dedup: sinkDedup,
});

export const postgresSinkSpec = z.strictObject({ ...postgresSinkFields, dedup: sinkDedup });
export const natsSinkSpec = z.strictObject({ ...natsSinkFields, dedup: sinkDedup });
export const redisStreamSinkSpec = z.strictObject({ ...redisStreamSinkFields, dedup: sinkDedup });

export const sinkSpec = z
  .discriminatedUnion("type", [parquetSinkSpec, duckdbSinkSpec, postgresSinkSpec, natsSinkSpec, redisStreamSinkSpec])
  .describe("Where the batch is written; `type` selects the sink.");

// ---------------------------------------------------------------- pipeline

export const validationSpec = z
  .union([z.enum(["strict", "quarantine", "off"]), z.literal(false).transform(() => "off" as const)])
  .default("strict")
  .describe('strict | quarantine | "off"');

export const pipelineSpec = z
  .strictObject({
    description: z.string().optional(),
    source: sourceSpec,
    contract: z.union([identifier, contractSpec]).optional().describe("Name of a contract, or one inline."),
    validation: validationSpec,
    dedup: dedupSpec.default({ strategy: "none" }),
    transforms: z.array(transformSpec).default([]),
    sinks: z.array(sinkSpec).min(1),
    ...pipelineScheduleFields,
    retries: retriesSpec.default({ attempts: 3, backoff_seconds: 2 }),
    ...pipelineAlertFields,
    ...pipelineHookFields,
    dead_letter: deadLetterSpec.optional(),
    retention_days: z
      .number()
      .positive()
      .optional()
      .describe(
        "After each successful run: remove partitions (partitioned and Delta parquet sinks) dated before N days ago, and older snapshots.",
      ),
  })
  .describe("source -> transforms -> contract -> dedup -> sinks.");

export const configSpec = z
  .strictObject({
    version: z.literal(1).default(1),
    data_dir: z.string().default("./data").describe("Lake root; relative output paths are under it."),
    warehouse: z.string().optional().describe("DuckDB warehouse file; default <data_dir>/duckdb/analytics.duckdb."),
    engine: z
      .strictObject({
        memory_limit: z.string().optional().describe("DuckDB memory_limit of a run, e.g. '2GB'."),
        threads: z.number().int().positive().optional(),
      })
      .default({}),
    contracts: z.record(z.string(), contractSpec).default({}),
    pipelines: z.record(z.string(), pipelineSpec),
    ...configServeFields,
    ...configAlertFields,
    ...configRollupFields,
  })
  .describe("sluice configuration file (sluice.yaml).");

export type ColumnSpec = z.infer<typeof columnSpec>;
export type ContractSpec = z.infer<typeof contractSpec>;
export type SourceConfig = z.infer<typeof sourceSpec>;
export type GenerateSourceConfig = z.infer<typeof generateSourceSpec>;
export type FileSourceConfig = z.infer<typeof fileSourceSpec>;
export type PostgresSourceConfig = z.infer<typeof postgresSourceSpec>;
export type NatsSourceConfig = z.infer<typeof natsSourceSpec>;
export type RedisStreamSourceConfig = z.infer<typeof redisStreamSourceSpec>;
export type PubsubSourceConfig = z.infer<typeof pubsubSourceSpec>;
export type TransformConfig = z.infer<typeof transformSpec>;
export type SinkConfig = z.infer<typeof sinkSpec>;
export type ParquetSinkConfig = z.infer<typeof parquetSinkSpec>;
export type DuckdbSinkConfig = z.infer<typeof duckdbSinkSpec>;
export type PostgresSinkConfig = z.infer<typeof postgresSinkSpec>;
export type DedupConfig = z.infer<typeof dedupSpec>;
export type AlertConfig = z.infer<typeof alertSpec>;
export { alertSpec };
export type PipelineConfig = z.infer<typeof pipelineSpec>;
export type PipelineInput = z.input<typeof pipelineSpec>;
export type SluiceConfig = z.infer<typeof configSpec>;
export type SluiceConfigInput = z.input<typeof configSpec>;
export type ValidationMode = PipelineConfig["validation"];
