import { join } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import type { ReadHints, SourceContext } from "../source.js";
import { collectBadLines } from "./collect-bad-lines.js";
import type { FileBatch } from "./file-batch.js";
import { hasUndecided, settleNullColumns } from "./json-null-columns.js";
import type { RecordLayout } from "./record-layout.js";
import type { InputFile } from "./resolve-files.js";
import { firstRecordKeys, type KeyScan, scanKeys } from "./scan-json-keys.js";
import { scanJsonlLines } from "./scan-jsonl-lines.js";
import { scratchDir } from "./scratch-dir.js";
import { skipBom } from "./skip-bom.js";
import { createPositionedView, positionalView } from "./source-positions.js";

/** Column read when the records have no keys at all; never shown. */
const NO_COLUMNS = "__sluice_no_columns";

/**
 * Reads newline-delimited JSON files into the engine (SPEC section 5, file).
 *
 * Both paths start with a Node pass over the bytes that finds the non-blank
 * lines (for line numbers) and, in parallel, one DuckDB pass collecting the
 * keys of all records, so a key that first appears on line 900 000 is still a
 * column (skipped with `extra_columns: drop`, where only contract keys matter).
 *
 * Lazy path, under a contract when the key scan saw only JSON objects (or
 * was skipped): a view over `read_json` with the contract's VARCHAR columns,
 * read again by every scan, and `materialize`, which runs the fast or careful
 * path below when the runner needs the rows loaded with positions.
 *
 * Fast path, when every non-blank line is a JSON object: `read_json` loads
 * the table; positions come from its rowid.
 *
 * Careful path, when DuckDB refuses a line: `read_ndjson_objects` with
 * `ignore_errors` gives one row per non-blank line (NULL for malformed
 * ones), aligned with the Node scan; lines that are not JSON objects go to
 * `unparseable` with their line number and raw text; the good ones are
 * turned into columns (`from_json`) or, without a contract, written to a
 * scratch file and read like the fast path so types come out the same.
 *
 * A UTF-8 BOM at the start of a file is skipped (see skipBom) before any pass.
 *
 * Types: with a contract every column is VARCHAR (nested values as JSON
 * text); the contract stage casts. Without one, DuckDB's detected types on
 * its sample, widened (whole-file detection, then VARCHAR) when a later value
 * does not fit, so one odd value never fails the read.
 */
export async function readJsonl(ctx: SourceContext, inputs: readonly InputFile[]): Promise<FileBatch> {
  const files = await skipBom(inputs, ctx.scratchDir);
  const paths = files.map((f) => f.path);
  const started = performance.now();
  const lineScan = () => Promise.all(paths.map((p) => scanJsonlLines(p)));
  const keyScan = needsKeyScan(ctx)
    ? () =>
        firstRecordKeys(paths[0])
          .then((first) => scanKeys(ctx, `read_ndjson_objects(${pathList(paths)})`, "json", first))
          .catch((err: unknown) => err as Error)
    : undefined;
  const load = async (layouts: readonly RecordLayout[], keys: KeyScan | Error | undefined): Promise<FileBatch> => {
    const fast = keys instanceof Error ? keys.message : await readFast(ctx, files, layouts, keys);
    if (typeof fast !== "string") return fast;
    ctx.log.info(`file source: DuckDB refused the JSON (${firstLine(fast)}); reading line by line`);
    return readCareful(ctx, files, layouts);
  };

  // The key scan alone decides whether the lazy path applies (it counts the records too), so the
  // line scan, which only gives positions, waits until the batch is loaded, if ever.
  if (keyScan) {
    const keys = await keyScan();
    ctx.log.debug(`file source: key scan took ${Math.round(performance.now() - started)} ms`);
    const lazy = keys instanceof Error ? undefined : await readLazy(ctx, files, keys.records, keys);
    if (lazy) return { ...lazy, materialize: async () => load(await lineScan(), keys) };
    return load(await lineScan(), keys);
  }
  // No key scan (a contract that drops extra columns): the line scan counts the records.
  const layouts = await lineScan();
  const records = layouts.reduce((n, l) => n + l.records, 0);
  const lazy = await readLazy(ctx, files, records, undefined);
  return lazy ? { ...lazy, materialize: () => load(layouts, undefined) } : load(layouts, undefined);
}

/**
 * Lazy path, under a contract when the scans found nothing odd: a view reading the files with
 * `read_json` (every column VARCHAR, as the fast path loads them), so the runner can check and write
 * the batch in one scan. Loading a table first costs more than a second scan of the file. `records`
 * is the key scan's count of JSON values, or the line scan's count of non-blank lines; if `read_json`
 * sees another number, the runner's staged count will not match and it loads the batch instead.
 */
async function readLazy(
  ctx: SourceContext,
  files: readonly InputFile[],
  records: number,
  keys: KeyScan | undefined,
): Promise<Omit<FileBatch, "materialize"> | undefined> {
  if (keys && keys.nonObjects > 0) return undefined;
  if (!ctx.readHints.text) return readLazyTyped(ctx, files, records, keys);
  const names = contractColumns(ctx.readHints, keys?.keys);
  if (names.length === 0) return undefined;
  const relation = ctx.tmpName("file");
  await ctx.engine.run(
    `CREATE VIEW ${relation} AS SELECT * FROM ${readJsonSql(
      files.map((f) => f.path),
      names.map((n) => [n, "VARCHAR"] as const),
    )}`,
    "extract",
  );
  return { relation, rows: records, readPath: "lazy" };
}

/**
 * Lazy path without a contract: a view over `read_json` with every key the scan found and the types
 * DuckDB detects on its sample, so a plain copy reads the file once more, in the scan that writes it.
 * A later value that does not fit its type fails that scan; the runner then loads the batch
 * (`materialize`), whose fast path widens the types. A JSON column (null everywhere in the sample)
 * is settled by loading the batch (see settleNullColumns), so no lazy view.
 */
async function readLazyTyped(
  ctx: SourceContext,
  files: readonly InputFile[],
  records: number,
  keys: KeyScan | undefined,
): Promise<Omit<FileBatch, "materialize"> | undefined> {
  const names = keys?.keys ?? [];
  if (names.length === 0 || new Set(names.map((n) => n.toLowerCase())).size !== names.length) return undefined;
  const paths = files.map((f) => f.path);
  const types = await detectTypes(ctx.engine, paths, undefined).catch(() => undefined);
  if (!types || hasUndecided(types)) return undefined;
  const ordered = [...[...types.keys()].filter((k) => names.includes(k)), ...names.filter((k) => !types.has(k))];
  const relation = ctx.tmpName("file");
  await ctx.engine.run(
    `CREATE VIEW ${relation} AS SELECT * FROM ${readJsonSql(
      paths,
      ordered.map((k) => [k, types.get(k) ?? "VARCHAR"] as const),
    )}`,
    "extract",
  );
  return { relation, rows: records, readPath: "lazy" };
}

/** Fast path; returns why it gave up instead of a batch when the files need the careful path. */
async function readFast(
  ctx: SourceContext,
  files: readonly InputFile[],
  layouts: readonly RecordLayout[],
  keys: KeyScan | undefined,
): Promise<FileBatch | string> {
  const { engine } = ctx;
  const records = layouts.reduce((n, l) => n + l.records, 0);
  if (keys && keys.records !== records) return `${keys.records} JSON values on ${records} non-blank lines`;
  if (keys && keys.nonObjects > 0) return `${keys.nonObjects} JSON values are not objects`;
  const table = ctx.tmpName("file_data");
  const loaded = await loadJsonTable(
    ctx,
    table,
    files.map((f) => f.path),
    keys?.keys,
  ).catch((err: unknown) => err as Error);
  if (isOwnError(loaded)) throw loaded;
  if (loaded instanceof Error) return loaded.message;
  const rows = await engine.count(table);
  if (rows !== records) {
    await engine.run(`DROP TABLE ${table}`, "extract");
    return `${rows} records read from ${records} non-blank lines`;
  }
  const relation = ctx.tmpName("file");
  await createPositionedView(engine, relation, table, fileRecords(files, layouts), { hide: [NO_COLUMNS] });
  return { relation, rows, readPath: "fast" };
}

async function readCareful(
  ctx: SourceContext,
  files: readonly InputFile[],
  layouts: readonly RecordLayout[],
): Promise<FileBatch> {
  const { engine } = ctx;
  const records = layouts.reduce((n, l) => n + l.records, 0);
  // One row per non-blank line, in file order: the JSON text (minified), or NULL when it does not parse.
  const lines = ctx.tmpName("file_lines");
  await engine.run(
    `CREATE TABLE ${lines} AS SELECT json::VARCHAR AS j
       FROM read_ndjson_objects(${pathList(files.map((f) => f.path))}, ignore_errors = true)`,
    "extract",
  );
  const read = await engine.count(lines);
  if (read !== records) {
    throw new SluiceError(`found ${read} JSON lines where ${describeFiles(files)} has ${records} non-blank lines`, {
      component: "source.file",
      stage: "extract",
      hint: "this is a bug in sluice's file source; please report it with a sample of the file",
    });
  }
  const positioned = ctx.tmpName("file_lines_pos");
  const helpers = await createPositionedView(engine, positioned, lines, fileRecords(files, layouts));
  const good = "j IS NOT NULL AND starts_with(j, '{')";

  const scratch = await scratchDir(engine);
  try {
    const unparseable = ctx.tmpName("file_unparseable");
    const bad = await collectBadLines(ctx, lines, good, files, layouts, scratch.path);
    await bad.load(engine, unparseable);

    const keys = needsKeyScan(ctx) ? await scanKeys(ctx, `${lines} WHERE ${good}`, "j") : undefined;
    const relation = ctx.tmpName("file");
    let rows: number;
    if (ctx.readHints.text) {
      // Every column VARCHAR: from_json never fails a conversion to text, so no value is lost.
      const names = contractColumns(ctx.readHints, keys?.keys);
      const structure = JSON.stringify(Object.fromEntries(names.map((k) => [k, "VARCHAR"])));
      const values = names.length > 0 ? `unnest(from_json(j, ${literal(structure)})), ` : "";
      await engine.run(
        `CREATE TABLE ${relation} AS SELECT ${values}_source_pos FROM ${positioned} WHERE ${good}`,
        "extract",
      );
      rows = await engine.count(relation);
    } else {
      // Detected types: the good lines go through read_json like the fast path, positions joined back.
      const clean = join(scratch.path, "clean.jsonl");
      await engine.run(
        `COPY (SELECT j FROM ${lines} WHERE ${good}) TO ${literal(clean)}
           (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\u0001')`,
        "extract",
      );
      const positions = ctx.tmpName("file_pos");
      await engine.run(`CREATE TABLE ${positions} AS SELECT _source_pos FROM ${positioned} WHERE ${good}`, "extract");
      const table = ctx.tmpName("file_data");
      await loadJsonTable(ctx, table, [clean], keys?.keys).catch((err: unknown) => {
        if (isOwnError(err)) throw err;
        throw new SluiceError(
          `cannot load the well-formed lines of ${describeFiles(files)}: ${firstLine(String(err))}`,
          {
            component: "source.file",
            stage: "extract",
            cause: err,
          },
        );
      });
      rows = await engine.count(table);
      await positionalView(engine, relation, table, positions, undefined, { hide: [NO_COLUMNS] });
    }
    // The lines (a copy of the file's text) are not needed any more.
    await engine.run(`DROP VIEW ${positioned}`, "extract");
    for (const t of [...helpers, lines]) await engine.run(`DROP TABLE ${t}`, "extract");
    if (rows + bad.rows !== records) {
      throw new SluiceError(`read ${rows} records and ${bad.rows} unparseable lines from ${records} non-blank lines`, {
        component: "source.file",
        stage: "extract",
        hint: "this is a bug in sluice's file source; please report it with a sample of the file",
      });
    }
    return {
      relation,
      rows,
      readPath: "careful",
      ...(bad.rows > 0 ? { unparseable: { relation: unparseable, rows: bad.rows } } : {}),
    };
  } finally {
    scratch.dispose();
  }
}

function fileRecords(files: readonly InputFile[], layouts: readonly RecordLayout[]) {
  return files.map((f, i) => ({ display: f.display, layout: layouts[i]! }));
}

/**
 * With `extra_columns: drop` and no transforms only the contract's keys are read; otherwise every key of
 * every record (the contract names columns as they are after the transforms, e.g. after a rename).
 */
function needsKeyScan(ctx: SourceContext): boolean {
  return ctx.readHints.allKeys;
}

/**
 * Columns read under a contract: every key found, in source order, then contract columns no record has —
 * unless transforms run first: their output, not the file, is what the contract names.
 */
function contractColumns(hints: ReadHints, keys: readonly string[] | undefined): string[] {
  const names = [...(keys ?? [])];
  if (hints.addMissing) for (const c of hints.columns) if (!names.includes(c)) names.push(c);
  assertDistinctIgnoringCase(names);
  return names;
}

/**
 * Creates `table` from the files with the given keys as columns (contract:
 * all VARCHAR; otherwise detected types, widened on a conversion failure). A JSON column of the
 * sample is detected again over the whole files, and one null in every record becomes VARCHAR.
 * Throws DuckDB's error when the files cannot be read that way.
 */
async function loadJsonTable(
  ctx: SourceContext,
  table: string,
  paths: readonly string[],
  keys: readonly string[] | undefined,
): Promise<void> {
  const { engine } = ctx;
  const read = (columns: readonly (readonly [string, string])[]) =>
    engine.run(
      `CREATE TABLE ${table} AS SELECT * FROM ${readJsonSql(paths, columns.length > 0 ? columns : [[NO_COLUMNS, "VARCHAR"]])}`,
      "extract",
    );
  if (ctx.readHints.text) {
    await read(contractColumns(ctx.readHints, keys).map((n) => [n, "VARCHAR"] as const));
    return;
  }
  const names = keys ?? [];
  assertDistinctIgnoringCase(names);
  if (names.length === 0) {
    await read([]);
    return;
  }
  const attempts: (() => Promise<Map<string, string>>)[] = [
    () => detectTypes(engine, paths, undefined).then((t) => (hasUndecided(t) ? detectTypes(engine, paths, -1) : t)),
    () => detectTypes(engine, paths, -1),
    async () => new Map(),
  ];
  let lastError: unknown;
  for (const detect of attempts) {
    const types = await detect().catch(() => new Map<string, string>());
    const ordered = [...[...types.keys()].filter((k) => names.includes(k)), ...names.filter((k) => !types.has(k))];
    try {
      await read(ordered.map((k) => [k, types.get(k) ?? "VARCHAR"] as const));
    } catch (err) {
      lastError = err;
      ctx.log.debug(`file source: typed JSON read failed (${firstLine(String(err))}); widening types`);
      continue;
    }
    await settleNullColumns(engine, table);
    return;
  }
  throw lastError;
}

/** DuckDB's detected column types over its sample (`sampleSize` -1: the whole files). */
async function detectTypes(engine: Engine, paths: readonly string[], sampleSize: number | undefined) {
  const rows = await engine.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM read_json(${pathList(paths)}, format = 'newline_delimited', records = true${
      paths.length > 1 ? ", union_by_name = true" : ""
    }${sampleSize === undefined ? "" : `, sample_size = ${sampleSize}`})`,
    "extract",
  );
  return new Map(rows.map((r) => [r.column_name, r.column_type]));
}

function assertDistinctIgnoringCase(names: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const n of names) {
    const other = seen.get(n.toLowerCase());
    if (other !== undefined) {
      throw new SluiceError(`the JSON keys \`${other}\` and \`${n}\` differ only in case`, {
        component: "source.file",
        stage: "extract",
        hint: "DuckDB column names are case-insensitive; rename one of the keys at the producer",
      });
    }
    seen.set(n.toLowerCase(), n);
  }
}

/** `read_json` of newline-delimited records with exactly these columns (keys not listed are not read). */
function readJsonSql(paths: readonly string[], columns: readonly (readonly [string, string])[]): string {
  return `read_json(${pathList(paths)}, format = 'newline_delimited', records = true, columns = ${structLiteral(columns)})`;
}

function pathList(paths: readonly string[]): string {
  return `[${paths.map(literal).join(", ")}]`;
}

function structLiteral(columns: readonly (readonly [string, string])[]): string {
  return `{${columns.map(([name, type]) => `${literal(name)}: ${literal(type)}`).join(", ")}}`;
}

/** Errors this source raised itself (not DuckDB refusing the input): they are final. */
function isOwnError(err: unknown): err is SluiceError {
  return err instanceof SluiceError && err.component === "source.file";
}

function describeFiles(files: readonly InputFile[]): string {
  return files.length === 1 ? files[0]!.display : `${files.length} files`;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
