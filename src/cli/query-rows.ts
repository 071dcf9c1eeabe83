import { DuckDBTypeId } from "@duckdb/node-api";
import type { Engine } from "../engine/engine.js";
import { SluiceError } from "../errors.js";

/** A query's result, ready for formatRows. */
export interface QueryRows {
  readonly rows: Record<string, unknown>[];
  /** Columns of DuckDB's JSON type: their values are JSON text, emitted as JSON values by `--format json`. */
  readonly jsonColumns: ReadonlySet<string>;
}

/** Types shown as DuckDB writes them (`2024-01-05`, `10:30:00`, `1 day`), not as JS Dates or microseconds. */
const AS_TEXT = new Set<DuckDBTypeId>([
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIME_TZ,
  DuckDBTypeId.INTERVAL,
]);

/**
 * Runs a user's query (small results only) and returns its rows: DATE, TIME and INTERVAL values as
 * DuckDB's own text, other values as JS values (timestamps as Dates, big integers as bigint).
 */
export async function queryRows(engine: Engine, sql: string): Promise<QueryRows> {
  let reader: Awaited<ReturnType<Engine["connection"]["runAndReadAll"]>>;
  try {
    reader = await engine.connection.runAndReadAll(sql);
  } catch (err) {
    throw new SluiceError(err instanceof Error ? err.message : String(err), {
      component: "duckdb",
      stage: "query",
      cause: err,
    });
  }
  const names = reader.columnNames();
  const types = reader.columnTypes();
  const text = types.map((t) => AS_TEXT.has(t.typeId) || /\bDATE\b/.test(t.toString()));
  const values = reader.getRowObjectsJS();
  const texts = text.some(Boolean) ? reader.getRowObjectsJson() : [];
  const rows = values.map((row, i) => {
    const out: Record<string, unknown> = {};
    names.forEach((name, c) => {
      out[name] = text[c] ? texts[i]![name] : row[name];
    });
    return out;
  });
  const jsonColumns = new Set(names.filter((_, c) => types[c]!.alias === "JSON"));
  return { rows, jsonColumns };
}
