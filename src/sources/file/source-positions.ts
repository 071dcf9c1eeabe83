import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { RecordLayout } from "./record-layout.js";

/** A file's display name and where its records are. */
export interface FileRecords {
  readonly display: string;
  readonly layout: RecordLayout;
}

/** Extra projections of the positioned view: columns to hide and NULL columns to add. */
export interface ViewShape {
  /** Helper columns of the data table that users must not see. */
  readonly hide?: readonly string[];
  /** Columns to add as NULL VARCHAR (contract columns no record has). */
  readonly addNull?: readonly string[];
}

/**
 * Creates view `name` = the rows of table `data` (in its insertion order,
 * which is file order) plus `_source_pos` ("events.jsonl:17").
 *
 * Record i of `data` is the i-th record of `files` taken in order. One
 * segment in all (the common case: one file, no blank lines) costs nothing:
 * the position is computed from the table's rowid. Otherwise the positions
 * are expanded into a one-column table in the same order and joined by
 * position (POSITIONAL JOIN), which keeps the row order.
 *
 * The caller has checked that `data` holds exactly as many rows as the
 * layouts count. Returns the helper tables the view reads (to drop with it).
 */
export async function createPositionedView(
  engine: Engine,
  name: string,
  data: string,
  files: readonly FileRecords[],
  shape: ViewShape = {},
): Promise<string[]> {
  const cols = (await engine.columns(data)).map((c) => c.name);
  const select = projection(cols, shape);
  const segments = files.flatMap((f, fileIndex) =>
    f.layout.segments.map((s, i) => ({
      fileIndex,
      line: s.line,
      count: (f.layout.segments[i + 1]?.record ?? f.layout.records) - s.record,
    })),
  );
  const nonEmpty = segments.filter((s) => s.count > 0);
  const hasRowidColumn = cols.some((c) => c.toLowerCase() === "rowid");
  if (nonEmpty.length <= 1 && !hasRowidColumn) {
    const seg = nonEmpty[0] ?? { fileIndex: 0, line: 1 };
    const prefix = literal(`${files[seg.fileIndex]?.display ?? ""}:`);
    await engine.run(
      `CREATE VIEW ${name} AS SELECT ${[...select, `${prefix} || (rowid + ${seg.line}) AS _source_pos`].join(", ")} FROM ${data}`,
      "extract",
    );
    return [];
  }
  const segTable = `${name}_seg`;
  const posTable = `${name}_pos`;
  await engine.run(`CREATE TABLE ${segTable} (seq INTEGER, display VARCHAR, line BIGINT, n BIGINT)`, "extract");
  for (let i = 0; i < nonEmpty.length; i += 1000) {
    const values = nonEmpty
      .slice(i, i + 1000)
      .map((s, j) => `(${i + j}, ${literal(files[s.fileIndex]!.display)}, ${s.line}, ${s.count})`);
    await engine.run(`INSERT INTO ${segTable} VALUES ${values.join(", ")}`, "extract");
  }
  await engine.run(
    `CREATE TABLE ${posTable} AS SELECT display || ':' || (line + i) AS _source_pos
       FROM (SELECT seq, display, line, unnest(range(n)) AS i FROM ${segTable} ORDER BY seq)`,
    "extract",
  );
  await engine.run(`DROP TABLE ${segTable}`, "extract");
  await positionalView(engine, name, data, posTable, cols, shape);
  return [posTable];
}

/** View `name` = `data` joined row by row with table `positions` (one `_source_pos` column, same order). */
export async function positionalView(
  engine: Engine,
  name: string,
  data: string,
  positions: string,
  cols?: readonly string[],
  shape: ViewShape = {},
): Promise<void> {
  const names = cols ?? (await engine.columns(data)).map((c) => c.name);
  const select = projection(names, shape, "d");
  await engine.run(
    `CREATE VIEW ${name} AS SELECT ${[...select, "p._source_pos"].join(", ")} FROM ${data} d POSITIONAL JOIN ${positions} p`,
    "extract",
  );
}

/** The projected columns; a data column named `_source_pos` is replaced by the position. */
export function projection(cols: readonly string[], shape: ViewShape, alias?: string): string[] {
  const hide = new Set([...(shape.hide ?? []), "_source_pos"]);
  const q = (c: string) => (alias ? `${alias}.${ident(c)}` : ident(c));
  const parts = cols.filter((c) => !hide.has(c)).map(q);
  for (const c of shape.addNull ?? []) parts.push(`NULL::VARCHAR AS ${ident(c)}`);
  return parts;
}
