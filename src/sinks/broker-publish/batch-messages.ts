import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OutgoingMessage } from "../../connectors/publisher.js";
import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import { removeQuietly } from "../../util/atomic.js";
import { readLines } from "../../util/read-lines.js";

/** Lineage columns that differ between two attempts of the same batch: left out of a row's identity. */
const PER_ATTEMPT = new Set(["_run_id", "_ingested_at"]);

/** A batch written out as messages, one line per row in a scratch file (removed by `dispose`). */
export interface BatchMessages {
  readonly rows: number;
  /** The messages in their deterministic order: `{ data: <row as JSON>, id: "<batch_id>:<n>" }`. */
  messages(): AsyncGenerator<OutgoingMessage>;
  dispose(): void;
}

/**
 * Serializes `relation` with DuckDB (one `COPY`, never a JS object per row): each row becomes its
 * JSON object (`to_json`: column names as keys, lineage included, timestamps as DuckDB prints them)
 * and gets the id `<batchId>:<n>`, n = 1..rows in the order of a hash of the row's content without
 * `_run_id` / `_ingested_at`. Two attempts of one batch (a retry, a rerun of a pending batch, a
 * replay) hold the same rows, so they number them alike and publish them in the same order:
 * that is what NATS' duplicate detection (Nats-Msg-Id) and the Redis sink's resumable windows
 * rely on. Rows identical but for those columns are interchangeable, so ties need no order.
 * Within a batch the messages are in that hash order, not the source's.
 *
 * The file is `<n>\t<json>` per line (JSON never holds a raw tab or line break), read back in
 * 1 MiB chunks: memory stays flat.
 */
export async function batchMessages(engine: Engine, relation: string, batchId: string): Promise<BatchMessages> {
  const columns = (await engine.columns(relation)).map((c) => c.name);
  const stable = columns.filter((c) => !PER_ATTEMPT.has(c));
  const identity = `md5(CAST(to_json({${stable.map((c) => `${literal(c)}: t.${ident(c)}`).join(", ")}}) AS VARCHAR))`;
  const dir = mkdtempSync(join(tmpdir(), "sluice-publish-"));
  const file = join(dir, "messages.txt");
  try {
    await engine.run(
      `COPY (
         SELECT CAST(n AS VARCHAR) || chr(9) || j AS line
         FROM (
           SELECT row_number() OVER (ORDER BY h) AS n, j
           FROM (SELECT ${identity} AS h, CAST(to_json(t) AS VARCHAR) AS j FROM ${relation} AS t)
         )
         ORDER BY n
       ) TO ${literal(file)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER chr(1))`,
      "publish",
    );
    const rows = await engine.count(relation);
    return {
      rows,
      async *messages() {
        for await (const line of readLines(file)) {
          const tab = line.indexOf("\t");
          yield { id: `${batchId}:${line.slice(0, tab)}`, data: line.slice(tab + 1) };
        }
      },
      dispose: () => removeQuietly(dir),
    };
  } catch (err) {
    removeQuietly(dir);
    throw err;
  }
}
