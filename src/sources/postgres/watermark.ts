import type { Engine } from "../../engine/engine.js";
import { ident } from "../../engine/sql.js";
import type { Watermark } from "./export-query.js";

/** How the watermark is kept in the pipeline state (`<data_dir>/state/<pipeline>.json`). */
export interface StoredWatermark extends Watermark {
  /** The columns the values belong to; a watermark of other columns is not used. */
  readonly columns: { readonly cursor: string; readonly key: readonly string[] };
}

/** The stored watermark, if it belongs to this cursor and key. */
export function readWatermark(
  state: Readonly<Record<string, unknown>>,
  cursor: string,
  key: readonly string[],
): StoredWatermark | undefined {
  const w = state.watermark as Partial<StoredWatermark> | undefined;
  if (!w || typeof w.cursor !== "string" || !Array.isArray(w.key)) return undefined;
  if (w.columns && (w.columns.cursor !== cursor || w.columns.key.join("\u0000") !== key.join("\u0000"))) {
    return undefined;
  }
  return w as StoredWatermark;
}

/**
 * The greatest (cursor, key...) tuple of the extracted batch, computed in
 * DuckDB, as the text PostgreSQL parses back into the column types.
 * Text values order byte-wise, as the incremental filter compares them
 * (COLLATE "C"). Undefined for an empty batch or NULL cursors only.
 */
export async function computeWatermark(
  engine: Engine,
  relation: string,
  cursor: string,
  key: readonly string[],
): Promise<StoredWatermark | undefined> {
  const cols = [cursor, ...key];
  const order = cols.map((c) => `${ident(c)} DESC`).join(", ");
  const list = cols.map((c, i) => `CAST(${ident(c)} AS VARCHAR) AS v${i}`).join(", ");
  const row = await engine.one<Record<string, string | null>>(
    `SELECT ${list} FROM ${relation} WHERE ${ident(cursor)} IS NOT NULL ORDER BY ${order} LIMIT 1`,
    "extract",
  );
  if (!row || row.v0 === null || row.v0 === undefined) return undefined;
  return {
    cursor: row.v0,
    key: key.map((_, i) => String(row[`v${i + 1}`] ?? "")),
    columns: { cursor, key: [...key] },
  };
}
