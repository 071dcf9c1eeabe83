import { join } from "node:path";
import type { FileSourceConfig } from "../../config/spec.js";
import { ident, literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import type { SourceContext } from "../source.js";
import { BufferedWriter } from "./buffered-writer.js";
import { type CsvRecord, readCsvRecords } from "./csv-record-reader.js";
import type { FileBatch } from "./file-batch.js";
import type { InputFile } from "./resolve-files.js";
import { scanCsvRecords } from "./scan-csv-records.js";
import { scratchDir } from "./scratch-dir.js";
import { createPositionedView, projection } from "./source-positions.js";
import { UnparseableFile } from "./unparseable-file.js";

/** Helper column of the careful path: `<file index>:<line>` of each record. */
const POS = "__sluice_pos";

type CsvOptions = Pick<FileSourceConfig, "header" | "delimiter" | "quote">;

/**
 * Reads CSV files into the engine (SPEC section 5, file).
 *
 * Fast path: DuckDB's `read_csv` in strict mode with the configured header,
 * delimiter and quote (the quote doubles as escape, RFC 4180; no comment
 * lines, no skipped rows: nothing is dropped by guessing), while a Node pass
 * finds the physical line each record starts on (quoted fields may span
 * lines). Any refusal by DuckDB, or a record count that disagrees with the
 * scan, switches to the careful path.
 *
 * Careful path: the files are split into records in JavaScript with the same
 * rules; records with the wrong number of fields or a broken quote go to
 * `unparseable` ("expected 8 fields, found 9"), the others are written to a
 * scratch file with their position as an extra first column and read by
 * DuckDB as in the fast path. Whatever DuckDB still refuses there (invalid
 * UTF-8, ...) is taken from its rejects table into `unparseable` too, and a
 * final count check guarantees no record is lost silently.
 *
 * Types: with a contract every column is VARCHAR and contract columns the
 * files lack are added as NULL; without one, DuckDB's sniffed types, widened
 * (whole-file sniffing, then VARCHAR) when a later value does not fit.
 */
export async function readCsv(
  ctx: SourceContext,
  files: readonly InputFile[],
  options: CsvOptions,
): Promise<FileBatch> {
  checkDialect(options);
  const fast = await readFast(ctx, files, options);
  if (typeof fast !== "string") return fast;
  ctx.log.info(`file source: DuckDB refused the CSV (${firstLine(fast)}); reading record by record`);
  return readCareful(ctx, files, options);
}

async function readFast(
  ctx: SourceContext,
  files: readonly InputFile[],
  options: CsvOptions,
): Promise<FileBatch | string> {
  const { engine } = ctx;
  const scans = await Promise.all(
    files.map((f) => scanCsvRecords(f.path, options.delimiter, options.quote, options.header)),
  );
  const unclosed = scans.findIndex((s) => s.unterminated);
  if (unclosed >= 0) return `a quoted field in ${files[unclosed]!.display} is never closed`;
  // Files without a single line (not even a header) have no columns: DuckDB would invent `column0`.
  const used = files.map((f, i) => ({ file: f, scan: scans[i]! })).filter((x) => x.scan.headerLine || x.scan.records);
  const relation = ctx.tmpName("file");
  if (used.length === 0) {
    const cols = projection([], { addNull: ctx.readHints.columns });
    await engine.run(
      `CREATE VIEW ${relation} AS SELECT ${[...cols, "NULL::VARCHAR AS _source_pos"].join(", ")} WHERE false`,
      "extract",
    );
    return { relation, rows: 0, readPath: "fast" };
  }
  const records = scans.reduce((n, s) => n + s.records, 0);
  const table = ctx.tmpName("file_data");
  const loaded = await loadCsvTable(
    ctx,
    table,
    used.map((x) => x.file.path),
    options,
    {},
  ).catch((err: unknown) => err as Error);
  if (loaded instanceof Error) return loaded.message;
  const rows = await engine.count(table);
  if (rows !== records) {
    await engine.run(`DROP TABLE ${table}`, "extract");
    return `${rows} rows read where the file has ${records} records`;
  }
  await createPositionedView(
    engine,
    relation,
    table,
    used.map((x) => ({ display: x.file.display, layout: x.scan })),
    { addNull: await missingContractColumns(ctx, table) },
  );
  return { relation, rows, readPath: "fast" };
}

async function readCareful(ctx: SourceContext, files: readonly InputFile[], options: CsvOptions): Promise<FileBatch> {
  const { engine } = ctx;
  const scratch = await scratchDir(engine);
  try {
    const bad = await UnparseableFile.create(scratch.path);
    const cleanPaths: string[] = [];
    let written = 0;
    for (const [i, file] of files.entries()) {
      const cleanPath = join(scratch.path, `clean-${i}.csv`);
      cleanPaths.push(cleanPath);
      written += await cleanFile(file, i, cleanPath, options, bad);
    }
    const rejected = bad.rows;
    const unparseable = ctx.tmpName("file_unparseable");
    await bad.load(engine, unparseable);

    const table = ctx.tmpName("file_data");
    const displays = `[${files.map((f) => literal(f.display)).join(", ")}]`;
    const posExpr = (col: string) =>
      `${displays}[split_part(${col}, ':', 1)::INTEGER + 1] || ':' || split_part(${col}, ':', 2)`;
    const clean = { ...options, header: true };
    const loaded = await loadCsvTable(ctx, table, cleanPaths, clean, { positions: true }).catch(
      (err: unknown) => err as Error,
    );
    if (loaded instanceof Error) {
      // DuckDB refuses records our parser accepted (invalid UTF-8, ...): keep the rest, report those.
      ctx.log.info(`file source: DuckDB refused well-formed CSV records (${firstLine(loaded.message)})`);
      const rejects = ctx.tmpName("file_rejects");
      await loadCsvTable(ctx, table, cleanPaths, clean, { positions: true, rejectsTable: rejects });
      await engine.run(
        `INSERT INTO ${unparseable}
           SELECT ${posExpr("pos")}, regexp_replace(any_value(csv_line), '^[0-9]+:[0-9]+.', ''), string_agg(DISTINCT error_message, '; ')
             FROM (SELECT regexp_extract(csv_line, '^([0-9]+:[0-9]+)', 1) AS pos, csv_line, error_message FROM ${rejects})
            GROUP BY pos`,
        "extract",
      );
    }
    const rows = await engine.count(table);
    const badRows = await engine.count(unparseable);
    const cleanRejected = badRows - rejected;
    if (rows + cleanRejected !== written) {
      throw new SluiceError(
        `read ${rows} rows and ${cleanRejected} rejects from ${written} well-formed CSV records of ${describeFiles(files)}`,
        {
          component: "source.file",
          stage: "extract",
          hint: "this is a bug in sluice's file source; please report it with a sample of the file",
        },
      );
    }
    const relation = ctx.tmpName("file");
    const cols = (await engine.columns(table)).map((c) => c.name);
    const select = projection(cols, { hide: [POS], addNull: await missingContractColumns(ctx, table) });
    await engine.run(
      `CREATE VIEW ${relation} AS SELECT ${[...select, `${posExpr(ident(POS))} AS _source_pos`].join(", ")} FROM ${table}`,
      "extract",
    );
    return {
      relation,
      rows,
      readPath: "careful",
      ...(badRows > 0 ? { unparseable: { relation: unparseable, rows: badRows } } : {}),
    };
  } finally {
    scratch.dispose();
  }
}

/**
 * Splits one file into records; writes the well-formed ones (with a header)
 * to `cleanPath` prefixed by `<index>:<line>`, the others to `bad`.
 * Returns the number of well-formed records.
 */
async function cleanFile(
  file: InputFile,
  index: number,
  cleanPath: string,
  options: CsvOptions,
  bad: UnparseableFile,
): Promise<number> {
  const out = await BufferedWriter.create(cleanPath);
  const delimiter = options.delimiter;
  let expected: number | undefined;
  let good = 0;
  let headerPending = options.header;
  try {
    await readCsvRecords(file.path, delimiter, options.quote, (r: CsvRecord) => {
      if (headerPending) {
        headerPending = false;
        if (r.quoteError) {
          throw new SluiceError(`the header of ${file.display} (line ${r.line}) cannot be parsed: ${r.quoteError}`, {
            component: "source.file",
            stage: "extract",
            hint: "fix the header line, or set `header: false` if the file has none",
          });
        }
        expected = r.fields;
        return out.write(Buffer.from(`${POS}${delimiter}`), r.raw, NEWLINE);
      }
      const error =
        r.quoteError ?? (expected !== undefined && r.fields !== expected ? fieldCount(expected, r) : undefined);
      if (error) return bad.add(`${file.display}:${r.line}`, r.raw.toString("utf8"), error);
      let header = EMPTY;
      if (expected === undefined) {
        // No header: the first well-formed record fixes the width; columns named as DuckDB names them.
        expected = r.fields;
        const width = String(expected - 1).length;
        const names = Array.from({ length: expected }, (_, k) => `column${String(k).padStart(width, "0")}`);
        header = Buffer.from(`${[POS, ...names].join(delimiter)}\n`);
      }
      good++;
      return out.write(header, Buffer.from(`${index}:${r.line}${delimiter}`), r.raw, NEWLINE);
    });
    // A file with no header and no good record still gets one, so every scratch file has the position column.
    if (expected === undefined) await out.write(Buffer.from(`${POS}\n`));
  } finally {
    await out.close();
  }
  return good;
}

function fieldCount(expected: number, r: CsvRecord): string {
  return `expected ${expected} field${expected === 1 ? "" : "s"}, found ${r.fields}`;
}

interface LoadExtras {
  /** The files are scratch files whose first column is the `__sluice_pos` helper (always read as text). */
  readonly positions?: boolean;
  /** Read leniently, every column as text, and put what DuckDB rejects into this table. */
  readonly rejectsTable?: string;
}

/**
 * Creates `table` with read_csv over `paths`. With a contract all columns are
 * VARCHAR; without, sniffed types widened on a conversion failure. Throws
 * DuckDB's error when the files cannot be read strictly.
 */
async function loadCsvTable(
  ctx: SourceContext,
  table: string,
  paths: readonly string[],
  options: CsvOptions,
  extras: LoadExtras,
): Promise<void> {
  const quote = literal(options.quote);
  const base = [
    `header = ${options.header}`,
    `delim = ${literal(options.delimiter)}`,
    `quote = ${quote}`,
    `escape = ${quote}`,
    "comment = ''",
    "skip = 0",
    "strict_mode = true",
    "null_padding = false",
    "max_line_size = 67108864",
    ...(paths.length > 1 ? ["union_by_name = true"] : []),
    ...(extras.positions ? [`types = {${literal(POS)}: 'VARCHAR'}`] : []),
    ...(extras.rejectsTable
      ? [
          "ignore_errors = true",
          "store_rejects = true",
          `rejects_table = ${literal(extras.rejectsTable)}`,
          `rejects_scan = ${literal(`${extras.rejectsTable}_scan`)}`,
        ]
      : []),
  ];
  const read = (more: string[]) =>
    ctx.engine.run(
      `CREATE OR REPLACE TABLE ${table} AS SELECT * FROM read_csv([${paths.map(literal).join(", ")}], ${[...base, ...more].join(", ")})`,
      "extract",
    );
  if (ctx.readHints.text || extras.rejectsTable) {
    await read(["all_varchar = true"]);
    return;
  }
  const attempts = [[], ["sample_size = -1"], ["all_varchar = true"]];
  let lastError: unknown;
  for (const more of attempts) {
    try {
      await read(more);
      return;
    } catch (err) {
      lastError = err;
      // Only a value that does not fit the sniffed type is worth another try; a malformed file is not.
      if (!/convert|cast/i.test(String(err))) break;
      ctx.log.debug(`file source: typed CSV read failed (${firstLine(String(err))}); widening types`);
    }
  }
  throw lastError;
}

/** Contract columns the table does not have (added as NULL so the contract stage can report them per row). */
async function missingContractColumns(ctx: SourceContext, table: string): Promise<string[]> {
  if (!ctx.readHints.addMissing) return [];
  const have = new Set((await ctx.engine.columns(table)).map((c) => c.name.toLowerCase()));
  return ctx.readHints.columns.filter((c) => !have.has(c.toLowerCase()));
}

function checkDialect(options: CsvOptions): void {
  const bad = (what: string, value: string, hint: string) =>
    new SluiceError(`CSV ${what} ${JSON.stringify(value)} is not a single-byte character`, {
      component: "config",
      stage: "config",
      hint,
      exitCode: 2,
    });
  if (Buffer.byteLength(options.delimiter) !== 1 || options.delimiter === "\n" || options.delimiter === "\r") {
    throw bad("delimiter", options.delimiter, 'use one ASCII character, e.g. `delimiter: ";"` or `delimiter: "\\t"`');
  }
  if (Buffer.byteLength(options.quote) > 1 || options.quote === options.delimiter) {
    throw bad("quote", options.quote, 'use one ASCII character other than the delimiter, or "" for no quoting');
  }
}

const NEWLINE = Buffer.from("\n");
const EMPTY = Buffer.alloc(0);

function describeFiles(files: readonly InputFile[]): string {
  return files.length === 1 ? files[0]!.display : `${files.length} files`;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
