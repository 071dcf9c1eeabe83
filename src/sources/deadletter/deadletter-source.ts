import { existsSync } from "node:fs";
import { ident, literal } from "../../engine/sql.js";
import { LINEAGE_COLUMNS, SOURCE_ROW } from "../../engine/system-columns.js";
import { SluiceError } from "../../errors.js";
import type { ExtractResult, Source, SourceContext } from "../source.js";
import { messagesRelation } from "../stream/messages-relation.js";

/**
 * Columns of a dead-letter file that are not the record's: the stream's (`_raw`, `_deliveries`),
 * the plan's (`_stage`), both (`_error`, `_dead_at`), and what lineage and dedup added before a
 * sink refused the row (added again when the row is written).
 */
export const DEAD_LETTER_META_COLUMNS: ReadonlySet<string> = new Set([
  "_raw",
  "_error",
  "_stage",
  "_deliveries",
  "_dead_at",
  ...LINEAGE_COLUMNS,
  SOURCE_ROW,
  "_duplicate",
  "_composite_hash",
  "_payload_hash",
]);

/**
 * A source that reads back one dead-letter file (`sluice replay PIPELINE --deadletter`).
 *
 * A stream's dead letters (`_raw` present: stream/dead-letter.ts) are the messages as the broker
 * delivered them: they go through the stream source's own reader (messagesRelation: the JSONL
 * reader, its types, contract hints and unparseable handling), `_source_pos` the original
 * `<stream>#<position>`, in position order. A plan's dead letters (no `_raw`) are records with
 * their columns as stored; every column that is not the record's (DEAD_LETTER_META_COLUMNS) is
 * dropped, `_source_pos` kept when present. The batch is a delta (`append`) and moves no state.
 */
export class DeadLetterSource implements Source {
  constructor(
    private readonly file: string,
    private readonly name: string,
  ) {}

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    if (!existsSync(this.file)) {
      throw new SluiceError(`no dead-letter file ${this.file}`, {
        component: "deadletter",
        stage: "extract",
        hint: `list the dead letters with \`sluice deadletter ${ctx.pipeline}\``,
      });
    }
    const { engine } = ctx;
    const scan = `read_parquet(${literal(this.file)})`;
    const columns = (await engine.columns(scan)).map((c) => c.name);
    const description = `dead letters ${this.name}`;
    if (columns.includes("_raw")) {
      const rows = await engine.all<{ pos: string | null; raw: string | null; deliveries: number | null }>(
        `SELECT _source_pos AS pos, _raw AS raw, ${columns.includes("_deliveries") ? "_deliveries" : "1"} AS deliveries FROM ${scan}`,
        "extract",
      );
      const stream = rows[0]?.pos?.includes("#") ? rows[0].pos.slice(0, rows[0].pos.lastIndexOf("#")) : this.name;
      const messages = rows.map((r, i) => ({
        position: r.pos?.startsWith(`${stream}#`) ? r.pos.slice(stream.length + 1) : String(i + 1),
        data: Buffer.from(r.raw ?? ""),
        deliveries: Number(r.deliveries ?? 1),
      }));
      const loaded = await messagesRelation(ctx, messages, stream, Number.MAX_SAFE_INTEGER);
      return {
        relation: loaded.relation,
        rows: loaded.rows,
        ...(loaded.unparseable ? { unparseable: loaded.unparseable } : {}),
        ...(loaded.materialize ? { materialize: loaded.materialize } : {}),
        extent: "append",
        description: `${description} (${rows.length} messages)`,
      };
    }
    const record = columns.filter((c) => !DEAD_LETTER_META_COLUMNS.has(c)).map(ident);
    const relation = ctx.tmpName("deadletter");
    await engine.run(`CREATE TABLE ${relation} AS SELECT ${record.join(", ")} FROM ${scan}`, "extract");
    const rows = await engine.count(relation);
    return { relation, rows, extent: "append", description: `${description} (${rows} records)` };
  }
}
