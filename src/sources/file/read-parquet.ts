import { sep } from "node:path";
import { ident, literal } from "../../engine/sql.js";
import type { SourceContext } from "../source.js";
import type { FileBatch } from "./file-batch.js";
import type { InputFile } from "./resolve-files.js";

const FILE = "__sluice_file";
const ROW = "file_row_number";

/**
 * Reads Parquet files into the engine with their own types (a typed source:
 * no VARCHAR conversion, whatever the contract). Files with different
 * columns are combined by name. `_source_pos` is "<file>:row N" (1-based row
 * in that file); a `_source_pos` column already in the files (a quarantine
 * file read back) is replaced.
 */
export async function readParquet(
  ctx: SourceContext,
  files: readonly InputFile[],
  configDir: string,
): Promise<FileBatch> {
  const { engine } = ctx;
  const scan = `read_parquet([${files.map((f) => literal(f.path)).join(", ")}], filename = ${literal(FILE)},
    file_row_number = true, union_by_name = true)`;
  const cols = (await engine.columns(`(SELECT * FROM ${scan})`)).map((c) => c.name);
  const helpers = [FILE, ROW, ...cols.filter((c) => c === "_source_pos")];
  // The same naming as InputFile.display: relative to the config dir, else the basename.
  const prefix = configDir.endsWith(sep) ? configDir : configDir + sep;
  const display = `CASE WHEN starts_with(${ident(FILE)}, ${literal(prefix)})
      THEN substr(${ident(FILE)}, ${prefix.length + 1}) ELSE parse_filename(${ident(FILE)}) END`;
  const table = ctx.tmpName("file");
  await engine.run(
    `CREATE TABLE ${table} AS SELECT * EXCLUDE (${helpers.map(ident).join(", ")}),
       ${display} || ':row ' || (${ident(ROW)} + 1) AS _source_pos FROM ${scan}`,
    "extract",
  );
  return { relation: table, rows: await engine.count(table), readPath: "fast" };
}
