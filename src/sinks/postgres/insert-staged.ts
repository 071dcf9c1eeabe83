import type pg from "pg";
import { escapeIdentifier } from "pg";
import { SluiceError } from "../../errors.js";
import { ROW_COLUMN } from "./precheck.js";

/** A staged row the target refused, by its `_sluice_row`, with the database's message. */
export interface RefusedRow {
  readonly row: number;
  readonly error: string;
}

/** What moving the staged rows into the target did. */
export interface InsertResult {
  /** Rows inserted or updated. */
  readonly rows: number;
  readonly refused: RefusedRow[];
}

/** Refused rows beyond this stop the batch: a table refusing that much has a problem, not bad rows. */
const MAX_REFUSED = 1000;

/**
 * Moves the staged rows `[1, n]` into the target with `statement(lo, hi)` (an INSERT ... SELECT of
 * the staged rows whose `_sluice_row` is in the range), inside the caller's transaction.
 *
 * One statement for the whole batch, under a savepoint. When PostgreSQL refuses it for a row (a data
 * exception or an integrity constraint: class 22 or 23), the range is rolled back to the savepoint
 * and halved, each half under its own savepoint, until every refused row is alone: k bad rows cost
 * about 2k log2(n) statements, never one per row of the batch. Any other error (connection, a
 * missing column) is thrown as it is.
 */
export async function insertStaged(
  client: pg.Client,
  staging: string,
  n: number,
  statement: (lo: number, hi: number) => string,
): Promise<InsertResult> {
  const refused: RefusedRow[] = [];
  let rows = 0;
  let indexed = false;
  const attempt = async (lo: number, hi: number): Promise<void> => {
    await client.query("SAVEPOINT sluice_rows");
    try {
      const r = await client.query(statement(lo, hi));
      rows += r.rowCount ?? 0;
      await client.query("RELEASE SAVEPOINT sluice_rows");
      return;
    } catch (err) {
      if (!refusedByRow(err)) throw err;
      await client.query("ROLLBACK TO SAVEPOINT sluice_rows");
      await client.query("RELEASE SAVEPOINT sluice_rows");
      if (lo === hi) {
        refused.push({ row: lo, error: describeRefusal(err) });
        if (refused.length > MAX_REFUSED) throw tooMany(refused);
        return;
      }
    }
    if (!indexed) {
      // Ranges of a large staging table are read by index from here on.
      await client.query(`CREATE INDEX ON ${escapeIdentifier(staging)} (${ROW_COLUMN})`);
      await client.query(`ANALYZE ${escapeIdentifier(staging)}`);
      indexed = true;
    }
    const mid = Math.floor((lo + hi) / 2);
    await attempt(lo, mid);
    await attempt(mid + 1, hi);
  };
  if (n > 0) await attempt(1, n);
  return { rows, refused };
}

/** A refusal a single row causes: data exception (22xxx) or integrity constraint violation (23xxx). */
function refusedByRow(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
}

/** The database's message, with the column or constraint it names. */
function describeRefusal(err: unknown): string {
  const e = err as { message?: string; code?: string; column?: string; constraint?: string };
  const parts = [e.message ?? String(err)];
  if (e.column && !parts[0]!.includes(`"${e.column}"`)) parts.push(`column "${e.column}"`);
  if (e.code) parts.push(`SQLSTATE ${e.code}`);
  return parts.length > 1 ? `${parts[0]} (${parts.slice(1).join(", ")})` : parts[0]!;
}

function tooMany(refused: readonly RefusedRow[]): SluiceError {
  return new SluiceError(
    `PostgreSQL refused more than ${MAX_REFUSED} rows of the batch; the first: ${refused[0]?.error}`,
    {
      component: "sink:postgres",
      stage: "write",
      hint: "the table's definition does not fit the data (a constraint, a type): fix one or the other and rerun; nothing was written",
    },
  );
}
