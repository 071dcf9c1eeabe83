import { resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { DATASET_NAMES } from "../../sources/generate/datasets.js";
import type { GeneratedOutputWriter } from "../../sources/generate/generated-output.js";
import type { GenerateOptions } from "../../sources/generate/generation-plan.js";
import { redactSecrets } from "../../util/redact.js";
import { action } from "../action.js";

interface GenerateFlags {
  rows: string;
  out?: string;
  seed: string;
  anchor?: string;
  days: string;
  users?: string;
  chaos?: string;
  json?: boolean;
  replace?: boolean;
  append?: boolean;
}

/** The writer of each `--out` URL scheme, loaded only when used (pg is not loaded for a file output). */
const writePostgres: GeneratedOutputWriter = async (request) =>
  (await import("../../sinks/postgres-copy/write-generated.js")).writeGenerated(request);
const writeBroker: GeneratedOutputWriter = async (request) =>
  (await import("../../sinks/broker-publish/write-generated.js")).writeGenerated(request);
const URL_WRITERS: Readonly<Record<string, GeneratedOutputWriter>> = {
  postgres: writePostgres,
  postgresql: writePostgres,
  nats: writeBroker,
  redis: writeBroker,
};

export function register(program: Command): void {
  program
    .command("generate")
    .description("Write a synthetic dataset to a file (or a database or stream URL), made inside DuckDB.")
    .argument("<dataset>", DATASET_NAMES.join(" | "))
    .option("--rows <n>", "rows to write (duplicates injected by --chaos count as rows)", "10000")
    .option(
      "--out <file|url>",
      "FILE.jsonl | .ndjson | .csv | .parquet (Snappy), or postgres://...?table=T, nats://HOST/SUBJECT, redis://HOST/KEY (default: DATASET.jsonl)",
    )
    .option("--seed <n>", "same seed and anchor -> byte-identical output", "42")
    .option(
      "--anchor <iso>",
      "instant the timestamps end at (default: start of today, UTC); pin it to reproduce a file on another day",
    )
    .option("--days <n>", "span of the timestamps before the anchor, in days", "90")
    .option("--users <n>", "distinct users (accounts, keys); default rows/50, at most 100,000")
    .option(
      "--chaos <k=v,...>",
      "defects: dup_rate, out_of_order_rate, invalid_rate, missing_rate[.COLUMN]; a value or a range lo..hi",
    )
    .option("--replace", "--out postgres://: drop and recreate the table if it exists (default: refuse)")
    .option("--append", "--out postgres://: add the rows to the existing table (same columns)")
    .option("--json", "print what was written as JSON on stdout")
    .addHelpText(
      "after",
      `
Datasets:
  behavioral_events  S1 learner events, 15 camelCase columns (id, userId, sessionId, eventType, eventData,
                     timestamp, experimentPhase, lessonId, cardId, durationMs, score, completed, deviceType,
                     createdAt, updatedAt)
  transactions       S2 card transactions (transaction_id, account_id, amount, currency, merchant, mcc, description,
                     timestamp)
  pubsub             S3 stream messages (message_id, partition, key, value, created_at, published_at)
  customer_events    S4 client events (event_id, user_id, customer_id, event_type, properties, ts as text with mixed
                     zone offsets; offset-less values are Europe/Paris wall-clock time)

Examples:
  sluice generate behavioral_events --rows 1000000 --out events.parquet --seed 7 --anchor 2025-06-01
  sluice generate customer_events --rows 100000 --out ce.jsonl --chaos dup_rate=0.15,missing_rate.user_id=0.03
  sluice generate pubsub --rows 50000 --out msgs.csv --chaos dup_rate=0.05..0.15,out_of_order_rate=0.1 --json
  sluice generate behavioral_events --rows 200000 --out "postgres://localhost/app?table=BehavioralEvent" --replace
  sluice generate transactions --rows 100000 --out nats://127.0.0.1:4222/payments.tx
  sluice generate pubsub --rows 50000 --out redis://127.0.0.1:6379/messages

Without --anchor the window ends at the start of the current UTC day (of SLUICE_NOW when set), so the same seed
gives the same bytes all day; pass --anchor to get the same bytes on any day. A postgres:// table that exists is
left alone unless --replace or --append is given. nats:// and redis:// publish one JSON message per row
(ISO timestamps) and always append: the path is the subject (JetStream stream created when missing, named
after the subject with non-word characters as _, or ?stream=NAME) or the Redis stream key (XADD key * data
<json>). The summary goes to stderr; --json prints it on stdout.`,
    )
    .action(
      action(async (dataset: string, flags: GenerateFlags) => {
        // Loaded here, not at start-up: DuckDB and zod are most of a command's start-up time.
        const [{ Engine }, { writeGenerated }, { parseChaos }] = await Promise.all([
          import("../../engine/engine.js"),
          import("../../sources/generate/generated-output.js"),
          import("../../sources/generate/parse-chaos.js"),
        ]);
        const options: GenerateOptions = {
          dataset,
          rows: integer("--rows", flags.rows),
          seed: integer("--seed", flags.seed),
          days: number("--days", flags.days),
          ...(flags.anchor !== undefined ? { anchor: flags.anchor } : {}),
          ...(flags.users !== undefined ? { users: integer("--users", flags.users) } : {}),
          ...(flags.chaos !== undefined ? { chaos: parseChaos(flags.chaos) } : {}),
        };
        if (flags.replace && flags.append) {
          throw new ConfigError("--replace and --append exclude each other", "pass one of them, or neither");
        }
        const ifExists = flags.replace ? "replace" : flags.append ? "append" : "fail";
        const out = flags.out ?? `${dataset}.jsonl`;
        const target = /^[a-z][a-z0-9+.-]*:\/\//i.test(out) ? out : resolve(out);
        const started = performance.now();
        const engine = await Engine.open();
        try {
          const { plan, ...written } = await writeGenerated(engine, options, target, ifExists, URL_WRITERS);
          const seconds = (performance.now() - started) / 1000;
          const size = written.bytes !== undefined ? `, ${(written.bytes / 1024 / 1024).toFixed(1)} MiB` : "";
          process.stderr.write(
            `generated ${written.rows.toLocaleString("en-US")} ${dataset} rows -> ${redactSecrets(written.location)} (${written.format}${size}) in ${seconds.toFixed(2)} s\n`,
          );
          if (flags.json) {
            process.stdout.write(
              `${JSON.stringify(
                {
                  dataset,
                  ...written,
                  location: redactSecrets(written.location),
                  seconds: Number(seconds.toFixed(3)),
                  seed: plan.seed,
                  anchor: plan.anchorIso,
                  days: plan.days,
                  users: plan.users,
                  chaos: plan.chaos,
                },
                null,
                2,
              )}\n`,
            );
          }
        } finally {
          engine.close();
        }
        return 0;
      }),
    );
}

function integer(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${flag} ${value}: expected a whole number`, `e.g. ${flag} 1000`);
  return n;
}

function number(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(`${flag} ${value}: expected a number`, `e.g. ${flag} 30`);
  return n;
}
