import { DuckDBInstance } from "@duckdb/node-api";

/**
 * Runs SQL in a fresh in-memory DuckDB (TimeZone UTC) and returns plain rows: how a user checks the
 * lake and the warehouse, independently of the engine that wrote them.
 */
export async function duckQuery<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const db = await DuckDBInstance.create(":memory:");
  const con = await db.connect();
  try {
    await con.run("SET TimeZone = 'UTC'");
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
