import { literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";

/**
 * Values PostgreSQL holds and DuckDB (or Parquet) cannot: dates and times
 * before year 1 (PostgreSQL writes `0044-03-15 BC`; DuckDB would read the
 * date as 44 AD and a timestamp as NULL, silently) or beyond DuckDB's range.
 * Such a value must stop the run with the column, the value and a way out,
 * never be changed on the way.
 */
const HINT =
  "cast it in `query` (e.g. GREATEST(col, '0001-01-01') AS col, or col::text AS col), or add a contract rule that quarantines it (read it as text in `query`: `type: timestamp` quarantines the rows that do not parse)";

/** Marker of the errors checkedConversion raises inside DuckDB (the message follows it). */
const MARK = "sluice-unholdable: ";

/**
 * DuckDB SQL converting the CSV text `ref` of column `column` to `type`
 * (DATE, TIMESTAMP, TIMESTAMPTZ), raising an error that names the column,
 * the value and the row (`rowSql`, a VARCHAR expression such as `id=42`)
 * when the value is BC or does not convert. Costs no more than letting
 * read_csv convert (measured: equal within noise on 2M timestamps).
 */
export function checkedConversion(ref: string, type: string, column: string, rowSql: string): string {
  const fail = `error(${literal(`${MARK}column ${JSON.stringify(column)} holds `)} || ${ref} || ' (' || coalesce(${rowSql}, 'a row without key') || ')')`;
  return `CASE WHEN suffix(${ref}, ' BC') THEN ${fail} ELSE coalesce(TRY_CAST(${ref} AS ${type}), CASE WHEN ${ref} IS NOT NULL THEN ${fail} END) END`;
}

/**
 * Turns DuckDB's error for a value it could not load from the export CSV
 * into a SluiceError naming the real column (not read_csv's `c8`), the value
 * and what to do; undefined for any other error. `names[i]` is the column
 * read as `c<i>`.
 */
export function unholdableValueError(err: unknown, names: readonly string[]): SluiceError | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const marked = message.indexOf(MARK);
  if (marked >= 0) {
    const what = message.slice(marked + MARK.length).split("\n")[0]!;
    return fail(`${what}: a value DuckDB and Parquet cannot hold`);
  }
  const csv = /Error when converting column "c(\d+)"\. Could not convert string "(.*)" to '([^']+)'/.exec(message);
  if (!csv) return undefined;
  const name = names[Number(csv[1])] ?? `c${csv[1]}`;
  return fail(`column ${JSON.stringify(name)} holds "${csv[2]}", which DuckDB cannot load as ${csv[3]}`);
}

function fail(message: string): SluiceError {
  return new SluiceError(message, { component: "source:postgres", stage: "extract", hint: HINT });
}
