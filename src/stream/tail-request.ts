import { join } from "node:path";
import type { Engine } from "../engine/engine.js";
import { literal } from "../engine/sql.js";

/**
 * The files `sluice tail` and the stream workers share, all under `<data_dir>/tail/<pipeline>/`:
 * `<id>.json` (a TailRequest, written atomically by the tail; its mtime is the tail's heartbeat) and
 * the folder `<id>/`, where workers rename sampled rows (`<time>-<pid>-<n>.jsonl`, JSON lines) and a
 * predicate that fails in a batch (`error.json`: `{message}`). The tail removes both when it stops; a
 * worker removes a request whose tail is gone (its pid dead on this host, or no heartbeat for
 * STALE_MS).
 */
export interface TailRequest {
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  /** A SQL predicate over the batch's columns, `_verdict` and `_reason` (checked by checkPredicate). */
  readonly where?: string;
  /** At most this many rows per micro-batch and worker (a reservoir sample when more match). */
  readonly sample: number;
  readonly started_at: string;
}

export const DEFAULT_SAMPLE = 100;
export const MAX_SAMPLE = 1000;
/** The tail touches its request this often; a worker drops a request untouched for STALE_MS. */
export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 120_000;
/** A worker writes nothing more for a tail that has this many files it has not read yet. */
export const MAX_BACKLOG = 50;
export const ERROR_FILE = "error.json";

/** `<data_dir>/tail/<pipeline>` (pipeline names are checked path segments, config/path-checks.ts). */
export function tailDir(dataDir: string, pipeline: string): string {
  return join(dataDir, "tail", pipeline);
}

export function requestPath(dir: string, id: string): string {
  return join(dir, `${id}.json`);
}

export function outputDir(dir: string, id: string): string {
  return join(dir, id);
}

/** The request in `text`, or undefined when it is not one (never trusted further than its shape). */
export function parseRequest(text: string): TailRequest | undefined {
  try {
    const r = JSON.parse(text) as Partial<TailRequest>;
    if (typeof r.id !== "string" || !/^[A-Za-z0-9_-]+$/.test(r.id)) return undefined;
    if (typeof r.pid !== "number" || typeof r.host !== "string" || typeof r.sample !== "number") return undefined;
    if (r.where !== undefined && typeof r.where !== "string") return undefined;
    const sample = Math.min(Math.max(Math.floor(r.sample), 1), MAX_SAMPLE);
    return { ...(r as TailRequest), sample };
  } catch {
    return undefined;
  }
}

/** Expression classes a predicate may use: no subqueries, windows, stars, parameters or lambdas. */
const CLASSES = new Set(["CONSTANT", "COLUMN_REF", "COMPARISON", "CONJUNCTION", "OPERATOR", "BETWEEN", "CASE", "CAST"]);

/**
 * Scalar functions a predicate may call: text, numbers, times, JSON and nested values. Anything else
 * (table functions, `getvariable` — the PII salt lives in a session variable —, settings, files) is
 * refused: the predicate runs inside the workers' sessions.
 */
const FUNCTIONS = new Set(
  `~~ !~~ ~~* !~~* ~~~ !~~~ + - * / // % ^ ** || -> ->> @> <@ && ! lower upper lcase ucase like_escape not_like_escape
  ilike_escape regexp_matches regexp_full_match regexp_extract regexp_replace contains starts_with ends_with prefix
  suffix length strlen len substr substring left right trim ltrim rtrim concat concat_ws replace split_part position
  strpos instr reverse lpad rpad abs round floor ceil ceiling sign sqrt ln log log10 log2 exp pow power mod greatest
  least nullif ifnull isnan isinf isfinite date_trunc datetrunc date_part datepart date_diff datediff date_sub
  year month day hour minute second dayofweek dayofyear week epoch epoch_ms strftime strptime to_timestamp
  make_date make_timestamp now current_timestamp current_date today get_current_timestamp to_days to_hours
  to_minutes to_seconds json_extract json_extract_string json_exists json_type json_array_length json_valid
  struct_extract array_extract list_extract list_contains list_has array_contains array_has list_has_any
  list_has_all array_length list_value array_value md5 sha256 hash`.split(/\s+/),
);

/**
 * Why `where` cannot be a tail's predicate, or undefined. It must parse as exactly one boolean-ish
 * expression (`SELECT 1 WHERE (<where>)`, read back with DuckDB's json_serialize_sql) built of
 * columns, constants, operators and the scalar functions above. Column names are checked against
 * the batch by the worker.
 */
export async function checkPredicate(engine: Engine, where: string): Promise<string | undefined> {
  if (where.trim() === "") return "is empty";
  const sql = `SELECT 1 WHERE (${where}\n)`;
  const row = await engine.one<{ j: string }>(`SELECT json_serialize_sql(${literal(sql)}) AS j`, "tail");
  const parsed = JSON.parse(row?.j ?? "{}") as {
    error?: boolean;
    error_message?: string;
    statements?: { node: Record<string, unknown> }[];
  };
  if (parsed.error) return `does not parse: ${parsed.error_message ?? "syntax error"}`;
  const statements = parsed.statements ?? [];
  const node = statements[0]?.node;
  const from = node?.from_table as { type?: string } | undefined;
  const plain =
    statements.length === 1 &&
    node?.type === "SELECT_NODE" &&
    from?.type === "EMPTY" &&
    empty(node.modifiers) &&
    Array.isArray(node.select_list) &&
    node.select_list.length === 1 &&
    empty(node.group_expressions) &&
    node.having === null &&
    node.qualify === null &&
    node.sample === null &&
    empty((node.cte_map as { map?: unknown } | undefined)?.map);
  if (!plain || !node?.where_clause) return "is not one SQL expression";
  return refused(node.where_clause);
}

function empty(v: unknown): boolean {
  return Array.isArray(v) && v.length === 0;
}

/** The first part of an expression tree the predicate may not use, described; undefined when none. */
function refused(tree: unknown): string | undefined {
  if (Array.isArray(tree)) {
    for (const item of tree) {
      const found = refused(item);
      if (found) return found;
    }
    return undefined;
  }
  if (!tree || typeof tree !== "object") return undefined;
  const node = tree as Record<string, unknown>;
  if (typeof node.class === "string") {
    if (!CLASSES.has(node.class) && node.class !== "FUNCTION") {
      return `may not use ${node.class.toLowerCase().replaceAll("_", " ")} expressions (only columns, constants, operators and scalar functions)`;
    }
    if (node.class === "FUNCTION") {
      const name = String(node.function_name ?? "").toLowerCase();
      if (!FUNCTIONS.has(name) || (node.schema !== "" && node.schema !== undefined)) {
        return `may not call ${name}() (only scalar text, number, time, JSON and list functions)`;
      }
    }
  }
  for (const value of Object.values(node)) {
    const found = refused(value);
    if (found) return found;
  }
  return undefined;
}
