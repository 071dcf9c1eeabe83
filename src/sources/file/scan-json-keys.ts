import { open } from "node:fs/promises";
import { literal } from "../../engine/sql.js";
import type { SourceContext } from "../source.js";

/** How much of a file firstRecordKeys looks at. */
const FIRST_RECORD_BYTES = 64 * 1024;

/** What the key scan of JSONL records found. */
export interface KeyScan {
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
export async function scanKeys(
  ctx: SourceContext,
  from: string,
  column: string,
  expected?: readonly string[],
): Promise<KeyScan> {
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
export async function firstRecordKeys(path: string | undefined): Promise<string[] | undefined> {
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
