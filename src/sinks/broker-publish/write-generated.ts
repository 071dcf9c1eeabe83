import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OutgoingMessage, openPublisher, publishAll } from "../../connectors/publisher.js";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { removeQuietly } from "../../util/atomic.js";
import { readLines } from "../../util/read-lines.js";

/** A generated dataset to publish (see GeneratedOutputWriter in sources/generate/generated-output.ts). */
export interface GeneratedRequest {
  readonly engine: Engine;
  /** A SELECT over the engine, valid during the call (timestamps as ISO-8601 text), and its dataset. */
  readonly query: { readonly sql: string; readonly dataset: { readonly name: string } };
  readonly target: string;
}

/**
 * `sluice generate DATASET --out nats://host:4222/<subject>[?stream=S]` or
 * `--out redis://host:6379/<stream key>`: one message per row, the row as a JSON object (DuckDB's
 * JSON writer: the dataset's column names, ISO timestamps), in generation order. The rows go through
 * a temporary JSONL file (COPY, then read line by line: memory stays flat) and are published in
 * pipelined windows of 1,000. A NATS message's id is `<dataset>:<position>:<hash of the line>`, so
 * generating the same rows again within the stream's duplicate window stores nothing twice; Redis
 * appends them again. Streams are always appended to (the JetStream stream is created when missing).
 */
export async function writeGenerated({
  engine,
  query,
  target,
}: GeneratedRequest): Promise<{ location: string; format: string; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-generate-"));
  try {
    const file = join(dir, "rows.jsonl");
    await engine.run(`COPY (${query.sql}) TO ${literal(file)} (FORMAT json)`, "write");
    const publisher = await openPublisher(target, "generate");
    try {
      const rows = await publishAll(publisher, messages(file, query.dataset.name));
      return { location: publisher.display, format: target.slice(0, target.indexOf(":")).toLowerCase(), rows };
    } finally {
      await publisher.close();
    }
  } finally {
    removeQuietly(dir);
  }
}

async function* messages(file: string, dataset: string): AsyncGenerator<OutgoingMessage> {
  let position = 0;
  for await (const line of readLines(file)) {
    const hash = createHash("sha1").update(line).digest("hex").slice(0, 16);
    yield { data: line, id: `${dataset}:${position}:${hash}` };
    position++;
  }
}
