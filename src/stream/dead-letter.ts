import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../engine/engine.js";
import { literal } from "../engine/sql.js";
import type { StreamMessage } from "../sources/stream/stream-consumer.js";
import { safeSegment } from "../util/confine.js";

/** One dead-lettered message as the Parquet file holds it. */
export interface DeadLetter {
  readonly message: StreamMessage;
  readonly error: string;
}

/**
 * Writes messages a stream could not process to `<data_dir>/deadletter/<pipeline>/<batch>.parquet`
 * (`_source_pos` stream#position, `_raw` the message text, `_error`, `_deliveries`, `_dead_at`),
 * written aside and renamed into place. Returns the file's path. The caller moves the stream's
 * position past them only after this returns: a message is written, quarantined or dead-lettered.
 */
export async function writeDeadLetters(
  dataDir: string,
  pipeline: string,
  stream: string,
  batchId: string,
  letters: readonly DeadLetter[],
  now: Date,
): Promise<string> {
  const dir = join(dataDir, "deadletter", safeSegment("pipeline", pipeline));
  mkdirSync(dir, { recursive: true });
  const final = join(dir, `${safeSegment("batch id", batchId.replace(/[^\w.-]+/g, "_"))}.parquet`);
  const lines = letters.map((l) =>
    JSON.stringify({
      _source_pos: `${stream}#${l.message.position}`,
      _raw: Buffer.from(l.message.data).toString("utf8"),
      _error: l.error,
      _deliveries: l.message.deliveries,
      _dead_at: now.toISOString(),
    }),
  );
  const jsonl = join(dir, `.${process.pid}-dead.jsonl`);
  const aside = join(dir, `.${process.pid}-dead.parquet.tmp`);
  writeFileSync(jsonl, `${lines.join("\n")}\n`);
  const engine = await Engine.open();
  try {
    await engine.run(
      `COPY (SELECT * FROM read_json(${literal(jsonl)}, format = 'newline_delimited', columns = {_source_pos: 'VARCHAR', _raw: 'VARCHAR', _error: 'VARCHAR', _deliveries: 'INTEGER', _dead_at: 'TIMESTAMPTZ'})) TO ${literal(aside)} (FORMAT parquet)`,
      "deadletter",
    );
    renameSync(aside, final);
    return final;
  } finally {
    engine.close();
    rmSync(jsonl, { force: true });
    rmSync(aside, { force: true });
  }
}
