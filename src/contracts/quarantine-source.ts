import { existsSync } from "node:fs";
import { ident, literal } from "../engine/sql.js";
import { SluiceError } from "../errors.js";
import type { ExtractResult, Source, SourceContext } from "../sources/source.js";
import { QUARANTINE_META_COLUMNS } from "./quarantine-file.js";

/**
 * A source that reads back one quarantine file (`sluice replay`): each
 * quarantined row as it was checked — every original column as VARCHAR, as a
 * text source delivers rows under a contract — with its original
 * `_source_pos`, in file order. Records that could not be parsed come back
 * as `unparseable` (their raw text cannot change, so they stay quarantined).
 * The batch is a delta (`append`) and moves no watermark.
 */
export class QuarantineSource implements Source {
  constructor(
    private readonly file: string,
    private readonly runId: string,
  ) {}

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    if (!existsSync(this.file)) {
      throw new SluiceError(`no quarantine file ${this.file}`, {
        component: "quarantine",
        stage: "extract",
        hint: `list quarantined runs with \`sluice quarantine ${ctx.pipeline}\``,
      });
    }
    const { engine } = ctx;
    const scan = `read_parquet(${literal(this.file)})`;
    const meta = new Set<string>(QUARANTINE_META_COLUMNS);
    const original = (await engine.columns(scan)).filter((c) => !meta.has(c.name)).map((c) => ident(c.name));
    const relation = ctx.tmpName("replay");
    await engine.run(
      `CREATE TABLE ${relation} AS SELECT ${[...original, "_source_pos"].join(", ")} FROM ${scan} WHERE _raw IS NULL`,
      "extract",
    );
    const unparseable = ctx.tmpName("replay_unparseable");
    await engine.run(
      `CREATE TABLE ${unparseable} AS SELECT _source_pos, _raw, coalesce(_failures[1].detail, 'unparseable') AS _error FROM ${scan} WHERE _raw IS NOT NULL`,
      "extract",
    );
    const rows = await engine.count(relation);
    const bad = await engine.count(unparseable);
    return {
      relation,
      rows,
      ...(bad > 0 ? { unparseable: { relation: unparseable, rows: bad } } : {}),
      extent: "append",
      description: `quarantine of run ${this.runId} (${rows + bad} rows)`,
    };
  }
}
