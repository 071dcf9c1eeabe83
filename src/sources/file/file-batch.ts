/** What one of the format readers hands back to FileSource. */
export interface FileBatch {
  /** View in the engine: the records in file order, columns in source order, plus `_source_pos`. */
  readonly relation: string;
  readonly rows: number;
  /** Records that could not be parsed (`_source_pos, _raw, _error`); absent when there are none. */
  readonly unparseable?: { readonly relation: string; readonly rows: number };
  /**
   * `fast`: DuckDB's reader took the files as they are; `careful`: DuckDB refused them, so they were split
   * into records first and the malformed ones set aside; `lazy`: not loaded yet, the relation reads the
   * files on every scan (no `_source_pos`) and `materialize` loads them (fast or careful).
   */
  readonly readPath: "fast" | "careful" | "lazy";
  /** `lazy` path: `relation` is a view straight over the files (see ExtractResult.materialize). */
  readonly materialize?: () => Promise<FileBatch>;
}
