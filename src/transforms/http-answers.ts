import type { ResponseColumn } from "../config/http-spec.js";
import { CONTRACT_DUCKDB_TYPES } from "../engine/contract-types.js";
import { ident, literal, valueLiteral } from "../engine/sql.js";

/** JSON types (`json_type`) each response type accepts. */
const JSON_TYPES: Readonly<Record<ResponseColumn["type"], readonly string[] | undefined>> = {
  string: ["VARCHAR"],
  integer: ["BIGINT", "UBIGINT"],
  number: ["BIGINT", "UBIGINT", "DOUBLE"],
  boolean: ["BOOLEAN"],
  timestamp: ["VARCHAR"],
  date: ["VARCHAR"],
  json: undefined,
};

/** The JSON value of `column` in an answer item `item` (JSON), as SQL. */
function jsonValue(item: string, column: string): string {
  return `json_extract(${item}, ${literal(`$.${JSON.stringify(column)}`)})`;
}

/**
 * The typed value of a response column in the item (NULL when absent or of another JSON type), and
 * the SQL of the reasons it fails the response contract (NULL when it passes).
 */
export function responseColumnSql(
  raw: string,
  column: string,
  spec: ResponseColumn,
): { readonly value: string; readonly error: string } {
  const jsonType = `json_type(${raw})`;
  const accepted = JSON_TYPES[spec.type];
  const typeOk = accepted ? `${jsonType} IN (${accepted.map((t) => literal(t)).join(", ")})` : "true";
  const type = CONTRACT_DUCKDB_TYPES[spec.type];
  const text = `json_extract_string(${raw}, '$')`;
  const value =
    spec.type === "json"
      ? `CASE WHEN ${jsonType} <> 'NULL' THEN ${raw} END`
      : `CASE WHEN ${typeOk} THEN TRY_CAST(${text} AS ${type}) END`;
  const name = column;
  const checks: string[] = [
    `CASE WHEN ${raw} IS NULL OR ${jsonType} = 'NULL' THEN ${spec.required ? literal(`${name}: missing`) : "NULL"}
          WHEN NOT (${typeOk}) OR ${value} IS NULL THEN ${literal(`${name}: not a ${spec.type}: `)} || ${raw}::VARCHAR END`,
  ];
  if (spec.enum) {
    const allowed = spec.enum.map((v) => valueLiteral(v)).join(", ");
    checks.push(
      `CASE WHEN ${value} NOT IN (${allowed}) THEN ${literal(`${name}: not one of ${spec.enum.join(", ")}: `)} || ${raw}::VARCHAR END`,
    );
  }
  if (spec.min !== undefined)
    checks.push(
      `CASE WHEN ${value} < ${spec.min} THEN ${literal(`${name}: below ${spec.min}: `)} || ${raw}::VARCHAR END`,
    );
  if (spec.max !== undefined)
    checks.push(
      `CASE WHEN ${value} > ${spec.max} THEN ${literal(`${name}: above ${spec.max}: `)} || ${raw}::VARCHAR END`,
    );
  if (spec.pattern !== undefined)
    checks.push(
      `CASE WHEN NOT regexp_full_match(${value}::VARCHAR, ${literal(spec.pattern)}) THEN ${literal(`${name}: does not match ${spec.pattern}: `)} || ${raw}::VARCHAR END`,
    );
  return { value, error: `nullif(concat_ws('; ', ${checks.join(", ")}), '')` };
}

/**
 * The answer items of every request, one row per item: `req`, the item's key as text (`k`), each
 * response column typed, and `item_error` (why it fails the response contract, or NULL). The
 * first item of a key in a request wins. `answers` holds `req`, `body` (a 2xx answer's text),
 * `refused` and `ok` (the body is a JSON array); other bodies give no items (their records are dead letters).
 */
export function answerItemsSql(
  answers: string,
  key: string,
  response: Readonly<Record<string, ResponseColumn>>,
): string {
  const names = Object.keys(response);
  const raw = (i: number) => ident(`__raw_${i}`);
  const columns = Object.entries(response).map(([name, spec], i) => ({
    name,
    ...responseColumnSql(raw(i), name, spec),
  }));
  return `WITH listed AS (
      SELECT req, from_json(body, '["JSON"]') AS items FROM ${answers} WHERE ok
    ), unnested AS (
      SELECT req, unnest(items) AS item, generate_subscripts(items, 1) AS ord FROM listed
    ), extracted AS (
      SELECT req, ord, json_extract_string(item, ${literal(`$.${JSON.stringify(key)}`)}) AS k,
        ${names.map((n, i) => `${jsonValue("item", n)} AS ${raw(i)}`).join(", ")}
      FROM unnested WHERE json_type(item) = 'OBJECT'
    )
    SELECT req, k,
      ${columns.map((c) => `${c.value} AS ${ident(c.name)}`).join(",\n      ")},
      ${columns.length > 1 ? `nullif(concat_ws('; ', ${columns.map((c) => c.error).join(", ")}), '')` : columns[0]!.error} AS item_error
    FROM extracted
    WHERE k IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY req, k ORDER BY ord) = 1`;
}
