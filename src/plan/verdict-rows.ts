import { ident, literal } from "../engine/sql.js";
import { SOURCE_POS, SOURCE_ROW } from "../engine/system-columns.js";
import type { RunContext } from "./batch-context.js";

/** The column giving each tapped row's contract verdict: `valid` or `quarantined`. */
export const VERDICT_COLUMN = "_verdict";
/** Why a tapped row was quarantined (every rule it broke: `column rule "value" (detail)`); NULL when valid. */
export const REASON_COLUMN = "_reason";

/** A batch's rows after transforms and the contract, offered to a tap (`sluice tail`). */
export interface TappedBatch {
  readonly batchId: string;
  /** How many rows the relation holds (valid + quarantined). */
  readonly rows: number;
  /**
   * A view (created on the first call) of every row after the transforms (so PII is protected as
   * the lake holds it) with its verdict: the valid rows typed as the contract says, `_source_pos`
   * kept; the quarantined ones (unparseable records too) with their values cast to the same types
   * where they cast (else NULL: `_reason` has the original text); plus VERDICT_COLUMN and
   * REASON_COLUMN, and `_source_pos` always (NULL when the source has none). Valid rows are shown
   * before dedup. Dropped with the batch's relations.
   */
  relation(): Promise<string>;
}

/**
 * A driver's tap on the batch plan, called once the sinks have the batch (BatchObserver.onValidated).
 * It must stay cheap when nobody listens; whatever it throws is logged, never the batch's failure.
 */
export type BatchTap = (ctx: RunContext, batch: TappedBatch) => Promise<void>;

/** Calls `tap` with the batch's valid rows (`valid`) and quarantined rows (the staged file), never throwing. */
export async function tapBatch(
  ctx: RunContext,
  tap: BatchTap,
  valid: string,
  quarantineStaged: string | undefined,
  rows: { valid: number; quarantined: number },
): Promise<void> {
  let view: Promise<string> | undefined;
  const batch: TappedBatch = {
    batchId: ctx.batchId,
    rows: rows.valid + rows.quarantined,
    relation: () => {
      view ??= verdictView(ctx, valid, quarantineStaged);
      return view;
    },
  };
  try {
    await tap(ctx, batch);
  } catch (err) {
    ctx.log.warn(`tap: ${err instanceof Error ? err.message : String(err)} (the batch is not affected)`);
  }
}

async function verdictView(ctx: RunContext, valid: string, quarantineStaged: string | undefined): Promise<string> {
  const { engine } = ctx;
  const columns = (await engine.columns(valid)).filter((c) => c.name !== SOURCE_ROW);
  const name = ctx.tmpName("tap");
  const position = columns.some((c) => c.name === SOURCE_POS) ? [] : [`NULL::VARCHAR AS ${ident(SOURCE_POS)}`];
  const validSide = `SELECT ${[...columns.map((c) => ident(c.name)), ...position, `'valid' AS ${VERDICT_COLUMN}`, `NULL::VARCHAR AS ${REASON_COLUMN}`].join(", ")} FROM ${valid}`;
  if (!quarantineStaged) {
    await engine.run(`CREATE VIEW ${name} AS ${validSide}`, "tap");
    return name;
  }
  const file = `read_parquet(${literal(quarantineStaged)})`;
  const meta = new Set(["_raw", "_failures", "_run_id", "_quarantined_at"]);
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const quarantined = (await engine.columns(file))
    .filter((c) => !meta.has(c.name))
    .map((c) => {
      const type = types.get(c.name);
      return type && type !== c.type ? `TRY_CAST(${ident(c.name)} AS ${type}) AS ${ident(c.name)}` : ident(c.name);
    });
  const reason = `array_to_string(list_transform(_failures, lambda f: concat_ws(' ', f."column", f.rule, '"' || left(f.value, 80) || '"', '(' || f.detail || ')')), '; ')`;
  const quarantinedSide = `SELECT ${[...quarantined, `'quarantined' AS ${VERDICT_COLUMN}`, `${reason} AS ${REASON_COLUMN}`].join(", ")} FROM ${file}`;
  await engine.run(`CREATE VIEW ${name} AS ${validSide} UNION ALL BY NAME ${quarantinedSide}`, "tap");
  return name;
}
