import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { literal } from "../../engine/sql.js";
import type { FileBatch } from "../file/file-batch.js";
import { readJsonl } from "../file/read-jsonl.js";
import type { LoadedBatch, SourceContext } from "../source.js";
import type { StreamMessage } from "./stream-consumer.js";

/** Name of the micro-batch's JSONL file in positions (`m:17`) before they become stream positions. */
const DISPLAY = "m";
const NEWLINE = Buffer.from("\n");
/** Lines that are not JSON objects, so the reader sets them aside as unparseable. */
const TOO_LARGE = Buffer.from('"<too large>"');
const EMPTY = Buffer.from('"<empty>"');

/** The message as one line: line breaks (only ever whitespace between JSON tokens) become spaces. */
function oneLine(data: Uint8Array): Uint8Array {
  if (data.indexOf(10) < 0 && data.indexOf(13) < 0) return data;
  const line = Buffer.from(data);
  for (let i = 0; i < line.length; i++) if (line[i] === 10 || line[i] === 13) line[i] = 32;
  return line;
}

/**
 * Loads a micro-batch's messages into the engine the way the file source loads a JSONL file (the
 * same fast, careful and lazy paths, types and contract hints), one message per line, and turns
 * every `_source_pos` into the message's stream position (`events#1234`).
 *
 * Contract: rows keep message order; a message that is not a JSON object, is empty, or is larger
 * than `maxBytes` is unparseable (quarantined with its position and the reason), never dropped.
 * Line breaks inside a message are whitespace between JSON tokens (JSON strings cannot hold raw
 * ones), so they are written as spaces and each message stays one line.
 */
export async function messagesRelation(
  ctx: SourceContext,
  messages: readonly StreamMessage[],
  stream: string,
  maxBytes: number,
): Promise<FileBatch> {
  const path = join(ctx.scratchDir, `${ctx.tmpName("messages")}.jsonl`);
  const lines: Uint8Array[] = [];
  const oversize: { pos: string; bytes: number }[] = [];
  for (const m of messages) {
    if (m.data.length > maxBytes) {
      oversize.push({ pos: m.position, bytes: m.data.length });
      lines.push(TOO_LARGE, NEWLINE);
      continue;
    }
    lines.push(m.data.length === 0 ? EMPTY : oneLine(m.data), NEWLINE);
  }
  writeFileSync(path, Buffer.concat(lines));
  const batch = await readJsonl(ctx, [{ path, display: DISPLAY, bytes: 0 }]);
  // Line i's stream position, as a list indexed by line (read from a file: a 20K-item SQL literal
  // costs more to parse than the batch costs to load).
  const positionsFile = `${path}.positions`;
  writeFileSync(positionsFile, `${messages.map((m) => `${stream}#${m.position}`).join("\n")}\n`);
  const positions = ctx.tmpName("positions");
  await ctx.engine.run(
    `CREATE TABLE ${positions} AS SELECT list(p ORDER BY i) AS p FROM (
       SELECT p, row_number() OVER () AS i FROM read_csv(${literal(positionsFile)}, header = false, delim = '\t', quote = '', escape = '', columns = {'p': 'VARCHAR'}))`,
    "extract",
  );
  const tooLarge = new Map(oversize.map((o) => [`${stream}#${o.pos}`, o.bytes]));
  const positioned = (loaded: FileBatch): Promise<FileBatch> =>
    withPositions(ctx, loaded, positions, tooLarge, maxBytes);
  if (batch.readPath === "lazy" && batch.materialize) {
    const load = batch.materialize;
    return { ...batch, materialize: async () => positioned(await load()) };
  }
  return positioned(batch);
}

/** Views over a loaded batch (and its unparseable records) with stream positions. */
async function withPositions(
  ctx: SourceContext,
  batch: FileBatch | LoadedBatch,
  positions: string,
  tooLarge: ReadonlyMap<string, number>,
  maxBytes: number,
): Promise<FileBatch> {
  const pos = (alias: string) => `${positions}.p[CAST(split_part(${alias}._source_pos, ':', -1) AS INTEGER)]`;
  const relation = ctx.tmpName("stream");
  await ctx.engine.run(
    `CREATE VIEW ${relation} AS SELECT r.* REPLACE (${pos("r")} AS _source_pos) FROM ${batch.relation} AS r CROSS JOIN ${positions}`,
    "extract",
  );
  const out: FileBatch = { relation, rows: batch.rows, readPath: "careful" };
  if (!batch.unparseable) return out;
  const bad = ctx.tmpName("stream_bad");
  const reason = [...tooLarge].map(
    ([p, bytes]) =>
      `WHEN ${literal(p)} THEN ${literal(`message of ${bytes} bytes is larger than max_message_bytes (${maxBytes})`)}`,
  );
  await ctx.engine.run(
    `CREATE VIEW ${bad} AS SELECT ${pos("u")} AS _source_pos, u._raw,
       ${reason.length ? `CASE ${pos("u")} ${reason.join(" ")} ELSE u._error END` : "u._error"} AS _error
     FROM ${batch.unparseable.relation} AS u CROSS JOIN ${positions}`,
    "extract",
  );
  return { ...out, unparseable: { relation: bad, rows: batch.unparseable.rows } };
}
