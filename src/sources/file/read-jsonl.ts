import { join } from "node:path";
import type { ContractSpec } from "../../config/spec.js";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import type { RunContext } from "../../runner/run-context.js";
import type { FileBatch } from "./file-batch.js";
import type { InputFile } from "./resolve-files.js";
import { scanJsonlLines } from "./scan-jsonl-lines.js";
import { scratchDir } from "./scratch-dir.js";
import { createPositionedView, positionalView } from "./source-positions.js";

/** Column read when the records have no keys at all; never shown. */
const NO_COLUMNS = "__sluice_no_columns";

/**
 * Reads newline-delimited JSON files into the engine (SPEC section 5, file).
 *
 * Fast path, taken when every non-blank line is a JSON object: one pass of
 * DuckDB's `read_ndjson_objects` collects the keys of all records (so a key
 * that first appears on line 900 000 is still a column), a Node pass over the
 * bytes finds blank lines (for line numbers), then `read_json` loads the
 * table. Positions come from the table's rowid. Any refusal by DuckDB, or a
 * record count that disagrees with the line scan, switches to the careful path.
 *
 * Careful path: the files are read as lines (`read_text`), lines that are not
 * JSON objects go to `unparseable` with their line number, the good lines are
 * written to a scratch file and read like the fast path, and positions are
 * joined back row by row.
 *
 * Types: with a contract every column is VARCHAR (nested values as JSON
 * text); the contract stage casts. Without one, DuckDB's detected types on
 * its sample, widened (whole-file detection, then VARCHAR) when a later value
 * does not fit, so one odd value never fails the read.
 */
export async function readJsonl(ctx: RunContext, files: readonly InputFile[]): Promise<FileBatch> {
  const fast = await readFast(ctx, files);
  if (typeof fast !== "string") return fast;
  ctx.log.info(`file source: DuckDB refused the JSON (${firstLine(fast)}); reading line by line`);
  return readCareful(ctx, files);
}

/** Fast path; returns why it gave up instead of a batch when the files need the careful path. */
async function readFast(ctx: RunContext, files: readonly InputFile[]): Promise<FileBatch | string> {
  const { engine } = ctx;
  const paths = files.map((f) => f.path);
  const [layouts, keys] = await Promise.all([
    Promise.all(paths.map((p) => scanJsonlLines(p))),
    needsKeyScan(ctx.contract) ? scanKeys(ctx, paths).catch((err: unknown) => err as Error) : undefined,
  ]);
  if (keys instanceof Error) return keys.message;
  const records = layouts.reduce((n, l) => n + l.records, 0);
  if (keys && keys.records !== records) return `${keys.records} JSON values on ${records} non-blank lines`;
  const table = ctx.tmpName("file_data");
  const loaded = await loadJsonTable(ctx, table, paths, keys?.keys).catch((err: unknown) => err as Error);
  if (isOwnError(loaded)) throw loaded;
  if (loaded instanceof Error) return loaded.message;
  const rows = await engine.count(table);
  if (rows !== records) {
    await engine.run(`DROP TABLE ${table}`, "extract");
    return `${rows} records read from ${records} non-blank lines`;
  }
  const relation = ctx.tmpName("file");
  await createPositionedView(
    engine,
    relation,
    table,
    files.map((f, i) => ({ display: f.display, layout: layouts[i]! })),
    { hide: [NO_COLUMNS] },
  );
  return { relation, rows, readPath: "fast" };
}

async function readCareful(ctx: RunContext, files: readonly InputFile[]): Promise<FileBatch> {
  const { engine } = ctx;
  const lines = ctx.tmpName("file_lines");
  const displays = `[${files.map((f) => literal(f.display)).join(", ")}]`;
  await engine.run(`CREATE TABLE ${lines} (f INTEGER, n BIGINT, line VARCHAR)`, "extract");
  for (const [i, file] of files.entries()) {
    try {
      await engine.run(
        `INSERT INTO ${lines} SELECT ${i}, generate_subscripts(s, 1), unnest(s)
           FROM (SELECT string_split(content, chr(10)) AS s FROM read_text(${literal(file.path)}))`,
        "extract",
      );
    } catch (err) {
      throw new SluiceError(`cannot read ${file.display} as text: ${firstLine((err as Error).message)}`, {
        component: "source.file",
        stage: "extract",
        hint: "JSONL files must be UTF-8 text (files over 4 GB must be split)",
        cause: err,
      });
    }
  }
  // One row per non-blank line, in file order, with why it is not a record (NULL when it is one).
  const classified = ctx.tmpName("file_classified");
  await engine.run(
    `CREATE TABLE ${classified} AS
       SELECT f, n, rtrim(line, chr(13)) AS line,
              CASE WHEN NOT json_valid(line) THEN 'malformed JSON'
                   WHEN json_type(line) <> 'OBJECT' THEN 'expected a JSON object, found ' ||
                     CASE json_type(line) WHEN 'ARRAY' THEN 'an array' WHEN 'VARCHAR' THEN 'a string'
                          WHEN 'BOOLEAN' THEN 'a boolean' WHEN 'NULL' THEN 'null' ELSE 'a number' END
              END AS err
         FROM ${lines}
        WHERE trim(line, ' ' || chr(9) || chr(13)) <> ''`,
    "extract",
  );
  await engine.run(`DROP TABLE ${lines}`, "extract");
  const unparseable = ctx.tmpName("file_unparseable");
  await engine.run(
    `CREATE TABLE ${unparseable} AS
       SELECT ${displays}[f + 1] || ':' || n AS _source_pos, line AS _raw, err AS _error
         FROM ${classified} WHERE err IS NOT NULL`,
    "extract",
  );
  const positions = ctx.tmpName("file_pos");
  await engine.run(
    `CREATE TABLE ${positions} AS SELECT ${displays}[f + 1] || ':' || n AS _source_pos FROM ${classified} WHERE err IS NULL`,
    "extract",
  );
  const scratch = await scratchDir(engine);
  try {
    // Valid JSON has no raw control characters, so \x01 as delimiter and no quote write each line verbatim.
    const clean = join(scratch.path, "clean.jsonl");
    await engine.run(
      `COPY (SELECT line FROM ${classified} WHERE err IS NULL) TO ${literal(clean)}
         (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\u0001')`,
      "extract",
    );
    await engine.run(`DROP TABLE ${classified}`, "extract");
    const keys = needsKeyScan(ctx.contract) ? await scanKeys(ctx, [clean]) : undefined;
    const table = ctx.tmpName("file_data");
    await loadJsonTable(ctx, table, [clean], keys?.keys).catch((err: unknown) => {
      if (isOwnError(err)) throw err;
      throw new SluiceError(`cannot load the well-formed lines of ${describeFiles(files)}: ${firstLine(String(err))}`, {
        component: "source.file",
        stage: "extract",
        cause: err,
      });
    });
    const rows = await engine.count(table);
    const expected = await engine.count(positions);
    if (rows !== expected) {
      throw new SluiceError(`read ${rows} records from ${expected} well-formed lines`, {
        component: "source.file",
        stage: "extract",
        hint: "this is a bug in sluice's file source; please report it with a sample of the file",
      });
    }
    const relation = ctx.tmpName("file");
    await positionalView(engine, relation, table, positions, undefined, { hide: [NO_COLUMNS] });
    const bad = await engine.count(unparseable);
    return {
      relation,
      rows,
      readPath: "careful",
      ...(bad > 0 ? { unparseable: { relation: unparseable, rows: bad } } : {}),
    };
  } finally {
    scratch.dispose();
  }
}

/** With `extra_columns: drop` only the contract's keys are read; otherwise every key of every record. */
function needsKeyScan(contract: ContractSpec | undefined): boolean {
  return contract?.extra_columns !== "drop";
}

interface KeyScan {
  /** Every top-level key, in the order records list them. */
  readonly keys: string[];
  /** JSON values read (one per non-blank line). */
  readonly records: number;
}

/**
 * One pass over the files collecting the distinct key lists of the records.
 * Throws (DuckDB's message) when a line is not valid JSON.
 */
async function scanKeys(ctx: RunContext, paths: readonly string[]): Promise<KeyScan> {
  const { engine } = ctx;
  const groups = ctx.tmpName("file_keys");
  await engine.run(
    `CREATE TEMP TABLE ${groups} AS SELECT json_keys(json) AS keys, count(*) AS n
       FROM read_ndjson_objects(${pathList(paths)}) GROUP BY ALL`,
    "extract",
  );
  try {
    const total = await engine.one<{ n: bigint | null }>(`SELECT sum(n) AS n FROM ${groups}`, "extract");
    // Source order: the key order of the most common layout, then keys of rarer layouts in their order.
    const keys = await engine.all<{ key: string }>(
      `SELECT key FROM (
         SELECT unnest(keys) AS key, generate_subscripts(keys, 1) AS pos, g
           FROM (SELECT keys, row_number() OVER (ORDER BY n DESC, keys::VARCHAR) AS g FROM ${groups}))
        GROUP BY key ORDER BY min(g), arg_min(pos, g)`,
      "extract",
    );
    return { keys: keys.map((k) => k.key), records: Number(total?.n ?? 0) };
  } finally {
    await engine.run(`DROP TABLE ${groups}`, "extract");
  }
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
      `CREATE TABLE ${table} AS SELECT * FROM read_json(${pathList(paths)}, format = 'newline_delimited',
         records = true, columns = ${structLiteral(columns.length > 0 ? columns : [[NO_COLUMNS, "VARCHAR"]])})`,
      "extract",
    );
  if (contract) {
    const names = [...(keys ?? [])];
    for (const c of Object.keys(contract.columns)) if (!names.includes(c)) names.push(c);
    assertDistinctIgnoringCase(names);
    await read(names.map((n) => [n, "VARCHAR"] as const));
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
