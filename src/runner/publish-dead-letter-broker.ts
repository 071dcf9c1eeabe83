import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { DeadLetterConfig } from "../config/dead-letter-spec.js";
import { parseNatsTarget } from "../connectors/nats/publish-nats.js";
import type { OutgoingMessage } from "../connectors/publisher.js";
import { parseRedisTarget } from "../connectors/redis/publish-redis.js";
import type { Engine } from "../engine/engine.js";
import { ident, literal } from "../engine/sql.js";
import { SOURCE_POS } from "../engine/system-columns.js";
import { natsPublishTarget, type PublishTarget, redisPublishTarget } from "../sinks/broker-publish/publish-sink.js";
import { DEAD_LETTER_META_COLUMNS } from "../sources/deadletter/deadletter-source.js";
import { removeQuietly } from "../util/atomic.js";
import type { Logger } from "../util/logger.js";
import { readLines } from "../util/read-lines.js";
import { redactSecrets } from "../util/redact.js";

/** Columns that differ between two writes of the same letters: left out of a letter's identity. */
const PER_WRITE = new Set(["_run_id", "_ingested_at", "_dead_at"]);

/** What one batch's dead letters are published as on the broker (the mark and message ids). */
export function deadLetterBrokerBatch(batchId: string): string {
  return `${batchId}:dead`;
}

/** One letter read back from the scratch file. */
interface Letter {
  readonly n: number;
  readonly body: string;
  readonly error: string | null;
  readonly stage: string | null;
  readonly pos: string | null;
}

/**
 * Publishes the dead letters of batch `batchId`, read from their published Parquet file
 * (`deadletter/<pipeline>/<batch_id>.rows.parquet`), to the pipeline's `dead_letter.to` broker:
 * one message per row, the record as JSON (without the metadata columns; a stream letter's `_raw`
 * as it came) with its error beside it. NATS: headers `Sluice-Error`, `Sluice-Stage`,
 * `Sluice-Batch-Id`, `Sluice-Pipeline`, `Sluice-Source-Pos` (when the row has one). Redis: entry
 * fields `data`, `error`, `stage`, `batch_id`, `pipeline` (and `source_pos`).
 *
 * Exactly once, as the publish sinks (sinks/broker-publish/publish-sink.ts): the broker batch is
 * `<batch_id>:dead`, its messages `<batch_id>:dead:<n>`, n numbered by a hash of the row without
 * `_run_id` (the same in every write of the batch's letters), and the batch is marked complete
 * after its last message (NATS: a mark in `sluice_batches`; Redis: `done` in
 * `<key>:sluice_batches`). A batch the broker marked is skipped, so the driver calls this on every
 * attempt that publishes the Parquet file, before the state moves: a kill between the two leaves
 * the batch pending, and its rerun (sinks `held`) publishes what the broker lacks. A broker that
 * does not answer is a transient SluiceError (the attempt is retried); errors never name a password.
 * Returns how many messages the broker stored (0 when it held the batch).
 */
export async function publishDeadLetterBroker(
  batch: {
    readonly engine: Engine;
    readonly pipeline: string;
    readonly batchId: string;
    /** A folder for the scratch file (created when missing). */
    readonly scratchDir: string;
    readonly now: Date;
    readonly log: Logger;
  },
  config: DeadLetterConfig | undefined,
  file: string | undefined,
): Promise<number> {
  if (!config || !file || !existsSync(file)) return 0;
  const { engine, pipeline, batchId, log } = batch;
  const nats = /^nats:/i.test(config.to);
  const display = nats
    ? parseNatsTarget(config.to, "deadletter").display
    : parseRedisTarget(config.to, "deadletter").display;
  const broker = deadLetterBrokerBatch(batchId);
  const target: PublishTarget = nats
    ? await natsPublishTarget(config.to, "deadletter")
    : await redisPublishTarget(config.to, "deadletter");
  try {
    if (await target.holds(broker)) {
      log.info(`dead letters of batch ${batchId}: ${display} holds them already`);
      return 0;
    }
    mkdirSync(batch.scratchDir, { recursive: true });
    const dir = mkdtempSync(join(batch.scratchDir, "deadletter-"));
    try {
      const rows = await writeLetters(engine, file, join(dir, "letters.jsonl"));
      const messages = letterMessages(join(dir, "letters.jsonl"), { pipeline, batchId, broker, nats });
      const stored = await target.publish(broker, rows, messages, batch.now);
      log.warn(
        `dead-lettered ${rows} rows -> ${display}${stored < rows ? ` (${rows - stored} were there already)` : ""}`,
      );
      return stored;
    } finally {
      removeQuietly(dir);
    }
  } finally {
    await target.close();
  }
}

/** The letters of `file` as JSON lines `{n, body, error, stage, pos}` in their deterministic order; returns the count. */
async function writeLetters(engine: Engine, file: string, out: string): Promise<number> {
  const scan = `read_parquet(${literal(file)})`;
  const columns = (await engine.columns(scan)).map((c) => c.name);
  const has = (c: string) => columns.includes(c);
  const record = columns.filter((c) => !DEAD_LETTER_META_COLUMNS.has(c) && c !== SOURCE_POS);
  const struct = (names: readonly string[]) => `{${names.map((c) => `${literal(c)}: t.${ident(c)}`).join(", ")}}`;
  const body = has("_raw")
    ? "CAST(t._raw AS VARCHAR)"
    : record.length > 0
      ? `CAST(to_json(${struct(record)}) AS VARCHAR)`
      : `'{}'`;
  // A stream letter is its message (a rewrite may count other deliveries or see another error).
  const stable = has("_raw") ? ["_raw", SOURCE_POS].filter(has) : columns.filter((c) => !PER_WRITE.has(c));
  const identity = `md5(CAST(to_json(${struct(stable)}) AS VARCHAR))`;
  const text = (c: string) => (has(c) ? `CAST(t.${ident(c)} AS VARCHAR)` : "NULL");
  const counted = await engine.one<{ Count: bigint | number }>(
    `COPY (
       SELECT row_number() OVER (ORDER BY h, body) AS n, body, error, stage, pos
       FROM (SELECT ${identity} AS h, ${body} AS body, ${text("_error")} AS error, ${text("_stage")} AS stage,
               ${text(SOURCE_POS)} AS pos FROM ${scan} AS t)
       ORDER BY n
     ) TO ${literal(out)} (FORMAT json)`,
    "deadletter",
  );
  return Number(counted?.Count ?? 0);
}

async function* letterMessages(
  file: string,
  batch: { pipeline: string; batchId: string; broker: string; nats: boolean },
): AsyncGenerator<OutgoingMessage> {
  for await (const line of readLines(file)) {
    if (line.trim() === "") continue;
    const l = JSON.parse(line) as Letter;
    const error = redactSecrets(l.error ?? "");
    const stage = l.stage ?? "stream";
    const id = `${batch.broker}:${l.n}`;
    if (batch.nats) {
      yield {
        id,
        data: l.body,
        headers: {
          "Sluice-Error": error,
          "Sluice-Stage": stage,
          "Sluice-Batch-Id": batch.batchId,
          "Sluice-Pipeline": batch.pipeline,
          ...(l.pos ? { "Sluice-Source-Pos": l.pos } : {}),
        },
      };
    } else {
      yield {
        id,
        data: l.body,
        fields: [
          ["error", error],
          ["stage", stage],
          ["batch_id", batch.batchId],
          ["pipeline", batch.pipeline],
          ...(l.pos ? ([["source_pos", l.pos]] as const) : []),
        ],
      };
    }
  }
}
