import { open } from "node:fs/promises";
import { join } from "node:path";
import type { ContractSpec } from "../../config/spec.js";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import type { RunContext } from "../../runner/run-context.js";
import type { FileBatch } from "./file-batch.js";
import { readLines } from "./read-lines.js";
import { lineOf, type RecordLayout } from "./record-layout.js";
import type { InputFile } from "./resolve-files.js";
import { scanJsonlLines } from "./scan-jsonl-lines.js";
import { scratchDir } from "./scratch-dir.js";
import { createPositionedView, positionalView } from "./source-positions.js";
import { UnparseableFile } from "./unparseable-file.js";

/** How much of a file firstRecordKeys looks at. */
const FIRST_RECORD_BYTES = 64 * 1024;

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
 * Types: with a contract every column is VARCHAR (nested values as JSON
 * text); the contract stage casts. Without one, DuckDB's detected types on
 * its sample, widened (whole-file detection, then VARCHAR) when a later value
 * does not fit, so one odd value never fails the read.
 */
export async function readJsonl(ctx: RunContext, files: readonly InputFile[]): Promise<FileBatch> {
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

  // Under a contract the key scan alone decides whether the lazy path applies (it counts the records
  // too), so the line scan, which only gives positions, waits until the batch is loaded, if ever.
  if (ctx.contract && keyScan) {
    const keys = await keyScan();
    ctx.log.debug(`file source: key scan took ${Math.round(performance.now() - started)} ms`);
    const lazy = keys instanceof Error ? undefined : await readLazy(ctx, files, keys.records, keys);
    if (lazy) return { ...lazy, materialize: async () => load(await lineScan(), keys) };
    return load(await lineScan(), keys);
  }
  const [layouts, keys] = await Promise.all([lineScan(), keyScan?.()]);
  ctx.log.debug(`file source: line scan and key scan took ${Math.round(performance.now() - started)} ms`);
  const lazy =
    keys instanceof Error
      ? undefined
      : await readLazy(
          ctx,
          files,
          layouts.reduce((n, l) => n + l.records, 0),
          keys,
        );
  return lazy ? { ...lazy, materialize: () => load(layouts, keys) } : load(layouts, keys);
}

/**
 * Lazy path, under a contract when the scans found nothing odd: a view reading the files with
 * `read_json` (every column VARCHAR, as the fast path loads them), so the runner can check and write
 * the batch in one scan. Loading a table first costs more than a second scan of the file. `records`
 * is the key scan's count of JSON values, or the line scan's count of non-blank lines; if `read_json`
 * sees another number, the runner's staged count will not match and it loads the batch instead.
 */
async function readLazy(
  ctx: RunContext,
  files: readonly InputFile[],
  records: number,
  keys: KeyScan | undefined,
): Promise<Omit<FileBatch, "materialize"> | undefined> {
  if (!ctx.contract) return undefined;
  if (keys && keys.nonObjects > 0) return undefined;
  const names = contractColumns(ctx.contract, keys?.keys, ctx.pipelineConfig.transforms.length > 0);
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

/** Fast path; returns why it gave up instead of a batch when the files need the careful path. */
async function readFast(
  ctx: RunContext,
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
  ctx: RunContext,
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
    if (ctx.contract) {
      // Every column VARCHAR: from_json never fails a conversion to text, so no value is lost.
      const names = contractColumns(ctx.contract, keys?.keys, ctx.pipelineConfig.transforms.length > 0);
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

/** The lines that are not JSON objects, with their position, raw text (read back from the file) and reason. */
async function collectBadLines(
  ctx: RunContext,
  lines: string,
  good: string,
  files: readonly InputFile[],
  layouts: readonly RecordLayout[],
  dir: string,
): Promise<UnparseableFile> {
  const bad = await ctx.engine.all<{ k: bigint | number; kind: string | null }>(
    `SELECT rowid AS k, CASE WHEN j IS NULL THEN NULL ELSE json_type(j) END AS kind
       FROM ${lines} WHERE NOT (${good}) ORDER BY rowid`,
    "extract",
  );
  // Global record index (rows are in file order) -> file and line.
  const byFile = new Map<number, { line: number; kind: string | null }[]>();
  let f = 0;
  let start = 0;
  for (const b of bad) {
    const k = Number(b.k);
    while (k >= start + layouts[f]!.records) start += layouts[f++]!.records;
    const entries = byFile.get(f) ?? [];
    entries.push({ line: lineOf(layouts[f]!, k - start), kind: b.kind });
    byFile.set(f, entries);
  }
  const out = await UnparseableFile.create(dir);
  for (const [f, entries] of byFile) {
    const raw = await readLines(
      files[f]!.path,
      entries.map((e) => e.line),
    );
    for (const e of entries) {
      await out.add(`${files[f]!.display}:${e.line}`, raw.get(e.line) ?? "", reason(e.kind));
    }
  }
  return out;
}

function reason(kind: string | null): string {
  if (kind === null) return "malformed JSON";
  const found: Record<string, string> = { ARRAY: "an array", VARCHAR: "a string", BOOLEAN: "a boolean", NULL: "null" };
  return `expected a JSON object, found ${found[kind] ?? "a number"}`;
}

function fileRecords(files: readonly InputFile[], layouts: readonly RecordLayout[]) {
  return files.map((f, i) => ({ display: f.display, layout: layouts[i]! }));
}

/**
 * With `extra_columns: drop` and no transforms only the contract's keys are read; otherwise every key of
 * every record (the contract names columns as they are after the transforms, e.g. after a rename).
 */
function needsKeyScan(ctx: RunContext): boolean {
  return ctx.contract?.extra_columns !== "drop" || ctx.pipelineConfig.transforms.length > 0;
}

interface KeyScan {
  /** Every top-level key, in source order. */
  readonly keys: string[];
  /** JSON values read (one per non-blank line). */
  readonly records: number;
  /** Values that are not objects (arrays, strings, numbers ...). */
  readonly nonObjects: number;
}

/**
 * One pass collecting the distinct key lists of the records of `from` (a
 * FROM clause whose column `column` holds one JSON value per record).
 * Throws (DuckDB's message) when a value is not valid JSON.
 */
async function scanKeys(ctx: RunContext, from: string, column: string, expected?: readonly string[]): Promise<KeyScan> {
  const { engine } = ctx;
  if (expected && expected.length > 0) {
    // Usually every record has the first one's keys in its order: comparing lists is cheaper than grouping them.
    const row = await engine.one<{ n: bigint; odd: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE json_keys(${column}) IS DISTINCT FROM [${expected.map(literal).join(", ")}]) AS odd FROM ${from}`,
      "extract",
    );
    if (Number(row?.odd ?? 1) === 0) return { keys: [...expected], records: Number(row?.n ?? 0), nonObjects: 0 };
  }
  const groups = ctx.tmpName("file_keys");
  await engine.run(
    `CREATE TEMP TABLE ${groups} AS SELECT json_keys(${column}) AS keys, starts_with(${column}::VARCHAR, '{') AS obj,
       count(*) AS n FROM ${from} GROUP BY ALL`,
    "extract",
  );
  try {
    const total = await engine.one<{ n: bigint | null; other: bigint | null }>(
      `SELECT sum(n) AS n, sum(n) FILTER (WHERE NOT obj) AS other FROM ${groups}`,
      "extract",
    );
    // Source order: the key order of the most common layout, then keys of rarer layouts in their order.
    const keys = await engine.all<{ key: string }>(
      `SELECT key FROM (
         SELECT unnest(keys) AS key, generate_subscripts(keys, 1) AS pos, g
           FROM (SELECT keys, row_number() OVER (ORDER BY n DESC, keys::VARCHAR) AS g FROM ${groups}))
        GROUP BY key ORDER BY min(g), arg_min(pos, g)`,
      "extract",
    );
    return { keys: keys.map((k) => k.key), records: Number(total?.n ?? 0), nonObjects: Number(total?.other ?? 0) };
  } finally {
    await engine.run(`DROP TABLE ${groups}`, "extract");
  }
}

/** The keys of the first record of a file, when it starts with a JSON object on one short line. */
async function firstRecordKeys(path: string | undefined): Promise<string[] | undefined> {
  if (path === undefined) return undefined;
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(FIRST_RECORD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const line = buf
      .subarray(0, bytesRead)
      .toString("utf8")
      .split("\n")
      .find((l) => l.trim() !== "");
    const value: unknown = line === undefined ? undefined : JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? Object.keys(value) : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * Columns read under a contract: every key found, in source order, then contract columns no record has —
 * unless transforms run first: their output, not the file, is what the contract names.
 */
function contractColumns(contract: ContractSpec, keys: readonly string[] | undefined, transformed: boolean): string[] {
  const names = [...(keys ?? [])];
  if (!transformed) for (const c of Object.keys(contract.columns)) if (!names.includes(c)) names.push(c);
  assertDistinctIgnoringCase(names);
  return names;
}

/**
 * Creates `table` from the files with the given keys as columns (contract:
 * all VARCHAR; otherwise detected types, widened on a conversion failure).
 * Throws DuckDB's error when the files cannot be read that way.
 */
async function loadJsonTable(
  ctx: RunContext,
  table: string,
  paths: readonly string[],
  keys: readonly string[] | undefined,
): Promise<void> {
  const { engine, contract } = ctx;
  const read = (columns: readonly (readonly [string, string])[]) =>
    engine.run(
      `CREATE TABLE ${table} AS SELECT * FROM ${readJsonSql(paths, columns.length > 0 ? columns : [[NO_COLUMNS, "VARCHAR"]])}`,
      "extract",
    );
  if (contract) {
    await read(
      contractColumns(contract, keys, ctx.pipelineConfig.transforms.length > 0).map((n) => [n, "VARCHAR"] as const),
    );
    return;
  }
  const names = keys ?? [];
  assertDistinctIgnoringCase(names);
  if (names.length === 0) {
    await read([]);
    return;
  }
  const attempts: (() => Promise<Map<string, string>>)[] = [
    () => detectTypes(engine, paths, undefined),
    () => detectTypes(engine, paths, -1),
    async () => new Map(),
  ];
  let lastError: unknown;
  for (const detect of attempts) {
    const types = await detect().catch(() => new Map<string, string>());
    const ordered = [...[...types.keys()].filter((k) => names.includes(k)), ...names.filter((k) => !types.has(k))];
    try {
      await read(ordered.map((k) => [k, types.get(k) ?? "VARCHAR"] as const));
      return;
    } catch (err) {
      lastError = err;
      ctx.log.debug(`file source: typed JSON read failed (${firstLine(String(err))}); widening types`);
    }
  }
  throw lastError;
}

/** DuckDB's detected column types over its sample (`sampleSize` -1: the whole files). */
async function detectTypes(engine: Engine, paths: readonly string[], sampleSize: number | undefined) {
  const rows = await engine.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM read_json(${pathList(paths)}, format = 'newline_delimited', records = true,
       union_by_name = true${sampleSize === undefined ? "" : `, sample_size = ${sampleSize}`})`,
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
