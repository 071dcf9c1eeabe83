/**
 * The columns sluice adds to a batch, and how they are named: the one place every stage (sources,
 * transforms, the contract, dedup, lineage, metrics, sinks) takes them from.
 */

/** Column the batch's source position lives in (SPEC section 7: line, offset or key). Sources add it;
 * every transform passes it through untouched; lineage drops it. */
export const SOURCE_POS = "_source_pos";

/**
 * BIGINT column of the validated relation giving each row's place in source
 * order (merge ties, eager's first occurrence). Consumed by dedup, which never
 * passes it on: it reaches no sink.
 */
export const SOURCE_ROW = "_source_row";

/** Lineage columns every written row carries (SPEC section 7). */
export const LINEAGE_COLUMNS = ["_run_id", "_batch_id", "_processing_type", "_ingested_at"] as const;

/** Columns bronze_append adds (SPEC section 7). */
export const COMPOSITE_HASH = "_composite_hash";
export const PAYLOAD_HASH = "_payload_hash";
/** BOOLEAN bronze_append adds: the row's key was seen before (earlier in the batch, or in the table). */
export const DUPLICATE_MARK = "_duplicate";

/**
 * Fail markers: how a transform hands a value failure to the contract stage.
 *
 * A transform that cannot convert a value (cast, timezone) or translate it
 * (map with `unmapped: quarantine`) keeps the row and adds a VARCHAR column
 * named `_fail:<rule>:<column>`, non-NULL on the rows that fail, holding the
 * value to report (the original text). validate-batch treats every such
 * column as one more rule: a non-NULL marker fails the row with `rule` on
 * `column` (quarantined or reported like any contract failure), and it drops
 * every marker column from the rows it passes on. Markers are only emitted
 * while validation is not "off", so nothing else ever sees them.
 */
export const FAIL_MARKER_PREFIX = "_fail:";

/** The marker column name for `rule` failing on `column`. */
export function failMarker(rule: string, column: string): string {
  return `${FAIL_MARKER_PREFIX}${rule}:${column}`;
}

/** `{ rule, column }` of a marker column name, or undefined for any other column. */
export function parseFailMarker(name: string): { rule: string; column: string } | undefined {
  if (!name.startsWith(FAIL_MARKER_PREFIX)) return undefined;
  const rest = name.slice(FAIL_MARKER_PREFIX.length);
  const colon = rest.indexOf(":");
  if (colon <= 0) return undefined;
  return { rule: rest.slice(0, colon), column: rest.slice(colon + 1) };
}

/** True for `_fail:<rule>:<column>` columns. */
export function isFailMarker(name: string): boolean {
  return parseFailMarker(name) !== undefined;
}
