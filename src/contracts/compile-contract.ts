import type { ColumnSpec, ContractSpec, DedupConfig } from "../config/spec.js";
import { CONTRACT_DESCRIBED_TYPES, CONTRACT_DUCKDB_TYPES } from "../engine/contract-types.js";
import { ident, literal } from "../engine/sql.js";
import { parseFailMarker, SOURCE_POS } from "../engine/system-columns.js";
import { ConfigError } from "../errors.js";

/** A column of the relation being checked, as `Engine.columns` returns it. */
export interface InputColumn {
  readonly name: string;
  readonly type: string;
}

/** A `unique` rule that needs a look at the whole batch (values occurring more than once). */
export interface UniqueCheck {
  readonly column: string;
  /** Typed value expression over the input row. */
  readonly typed: string;
  /**
   * merge/eager on a composite key holding this column: a value is a
   * duplicate only when it occurs under more than one distinct key (rows
   * repeating the whole key are dedup's job). Expressions of the other key parts.
   */
  readonly otherKeyParts?: readonly string[];
  /**
   * BOOLEAN column the check query's inner layer must define: true when the
   * row's value is one of the batch's duplicated values (see validate-batch).
   */
  readonly flag: string;
}

/**
 * A contract compiled against the columns a batch actually has. Every string
 * is SQL over one input row (columns referenced by name, unqualified).
 */
export interface CompiledContract {
  /** SELECT list giving the valid row: contract columns typed, in contract order, then kept extra columns. */
  readonly outputSelect: readonly string[];
  /** outputSelect over the typed layer (`__sluice_tN AS name`): no cast is computed twice in one query. */
  readonly typedOutputSelect: readonly string[];
  /** Typed expressions named `__sluice_tN`, computed once per row in the check query's inner layer. */
  readonly typedSelect: readonly string[];
  /** SELECT list giving the original row, every column as VARCHAR (quarantine, replay). */
  readonly originalSelect: readonly string[];
  /** True when any rule can fail; false means only shaping (casts, extra columns) happens. */
  readonly hasChecks: boolean;
  /** Boolean expression: the row breaks at least one rule (needs the typed layer and the unique joins). */
  readonly anyFailure: string;
  /** LIST(STRUCT(column, rule, value, detail)) of every rule the row broke. */
  readonly failureList: string;
  readonly uniqueChecks: readonly UniqueCheck[];
  /** Row key for reports: the contract's unique columns, original text. */
  readonly rowKey: string | undefined;
  /** Columns whose values are cast and may fail to cast, with their expressions, for `off` mode counts. */
  readonly castable: readonly { column: string; raw: string; typed: string }[];
}

export interface CompileOptions {
  /** Name shown in messages (`contract \`behavioral_event\``). */
  readonly name: string;
  /** The run's start: `not_future` values after it fail. */
  readonly startedAt: Date;
  /** The pipeline's dedup config: `unique` on a merge/eager key is dedup's job, not a failure. */
  readonly dedup: DedupConfig;
}

/** The failure struct every rule yields; also the element type of the quarantine `_failures` column. */
export function failureStruct(column: string | null, rule: string, value: string, detail: string): string {
  const col = column === null ? "NULL" : literal(column);
  return `{'column': ${col}::VARCHAR, 'rule': ${literal(rule)}::VARCHAR, 'value': (${value})::VARCHAR, 'detail': ${literal(detail)}::VARCHAR}`;
}

/** The DuckDB type of the `_failures` column. */
export const FAILURES_TYPE = 'STRUCT("column" VARCHAR, "rule" VARCHAR, "value" VARCHAR, "detail" VARCHAR)[]';

/**
 * Compiles a contract into SQL expressions over the batch's actual columns.
 *
 * Contract: pure (no engine), throws ConfigError (exit 2) for rules that do
 * not fit their column type. A contract column missing from the batch is a
 * column of NULLs (so `required` fails on every row). Raw values that are not
 * NULL but do not cast to the contract type fail `type`; all other rules look
 * at the typed value and skip NULLs (NULL is `required`'s business).
 *
 * `unique`: every row whose value occurs more than once in the batch fails,
 * except on a merge/eager dedup key — there duplicates are resolved by dedup
 * (one row per key, also against the target), so the rule only fails values
 * shared by different keys of a composite key.
 */
export function compileContract(
  contract: ContractSpec,
  columns: readonly InputColumn[],
  options: CompileOptions,
): CompiledContract {
  // Fail markers (`_fail:<rule>:<column>`, engine/system-columns.ts) are rules a transform already decided.
  const markers = columns.flatMap((c) => {
    const m = parseFailMarker(c.name);
    return m ? [{ name: c.name, ...m }] : [];
  });
  const data = columns.filter((c) => parseFailMarker(c.name) === undefined);
  const byName = new Map(data.map((c) => [c.name, c]));
  const contractNames = new Set(Object.keys(contract.columns));
  const extras = data.filter((c) => c.name !== SOURCE_POS && !contractNames.has(c.name));

  const outputSelect: string[] = [];
  const typedOutputSelect: string[] = [];
  const typedSelect: string[] = [];
  const checks: { cond: string; struct: string }[] = [];
  const uniqueChecks: UniqueCheck[] = [];
  const castable: { column: string; raw: string; typed: string }[] = [];
  const typedRef = new Map<string, string>();
  const dedupKey = options.dedup.strategy === "merge" || options.dedup.strategy === "eager" ? options.dedup.key : [];

  let i = 0;
  for (const [name, spec] of Object.entries(contract.columns)) {
    const input = byName.get(name);
    const raw = input ? ident(name) : "NULL";
    const cast = input
      ? castExpression(raw, input.type, spec.type)
      : { expr: `NULL::${CONTRACT_DUCKDB_TYPES[spec.type]}`, canFail: false };
    outputSelect.push(`${cast.expr} AS ${ident(name)}`);
    const t = ident(`__sluice_t${i}`);
    typedSelect.push(`${cast.expr} AS ${t}`);
    typedOutputSelect.push(`${t} AS ${ident(name)}`);
    typedRef.set(name, t);
    const rawText = input ? originalText(raw, input.type) : "NULL";
    const fail = (rule: string, cond: string, detail: string, value = rawText) =>
      checks.push({ cond, struct: failureStruct(name, rule, value, detail) });
    const where = `contract \`${options.name}\`, column \`${name}\` (${spec.type})`;

    if (cast.canFail) {
      fail("type", `(${raw} IS NOT NULL AND ${t} IS NULL)`, `does not cast to ${spec.type}`);
      castable.push({ column: name, raw, typed: cast.expr });
    }
    if (spec.required)
      fail("required", `(${raw} IS NULL)`, input ? "missing" : "column missing from the batch", "NULL");
    if (spec.enum && spec.enum.length > 0) {
      const allowed = spec.enum.map((v) => enumLiteral(v, spec.type)).join(", ");
      const lhs = spec.type === "json" ? `${t}::VARCHAR` : t;
      const shown = spec.enum.map(String).join(", ");
      fail("enum", `(${t} IS NOT NULL AND ${lhs} NOT IN (${allowed}))`, `not one of: ${shown}`);
    }
    if (spec.pattern !== undefined) {
      const text = spec.type === "string" ? t : `${t}::VARCHAR`;
      fail(
        "pattern",
        `(${t} IS NOT NULL AND NOT regexp_full_match(${text}, ${literal(spec.pattern)}))`,
        `does not match ${spec.pattern}`,
      );
    }
    if (spec.min !== undefined || spec.max !== undefined) {
      if (spec.type !== "integer" && spec.type !== "number") {
        throw new ConfigError(
          `${where}: \`min\`/\`max\` apply to integer and number columns`,
          "use min_length/max_length for strings, or change the column type",
        );
      }
      if (spec.min !== undefined) fail("min", `(${t} < ${spec.min})`, `below the minimum ${spec.min}`);
      if (spec.max !== undefined) fail("max", `(${t} > ${spec.max})`, `above the maximum ${spec.max}`);
    }
    if (spec.min_length !== undefined || spec.max_length !== undefined) {
      if (spec.type !== "string" && spec.type !== "json") {
        throw new ConfigError(
          `${where}: \`min_length\`/\`max_length\` apply to string and json columns`,
          "use min/max for numbers",
        );
      }
      const len = `length(${spec.type === "string" ? t : `${t}::VARCHAR`})`;
      if (spec.min_length !== undefined)
        fail("min_length", `(${len} < ${spec.min_length})`, `shorter than ${spec.min_length} characters`);
      if (spec.max_length !== undefined)
        fail("max_length", `(${len} > ${spec.max_length})`, `longer than ${spec.max_length} characters`);
    }
    if (spec.not_future) {
      const at = options.startedAt.toISOString();
      if (spec.type === "timestamp")
        fail("not_future", `(${t} > TIMESTAMPTZ ${literal(at)})`, `after the run start ${at}`);
      else if (spec.type === "date")
        fail("not_future", `(${t} > DATE ${literal(at.slice(0, 10))})`, `after the run start date ${at.slice(0, 10)}`);
      else
        throw new ConfigError(
          `${where}: \`not_future\` applies to timestamp and date columns`,
          "remove it or change the column type",
        );
    }
    if (spec.unique) {
      const onKey = dedupKey?.includes(name) ?? false;
      if (!(onKey && dedupKey?.length === 1)) {
        const flag = ident(`__sluice_dup${uniqueChecks.length}`);
        const others = onKey ? dedupKey!.filter((k) => k !== name) : undefined;
        uniqueChecks.push({
          column: name,
          typed: cast.expr,
          flag,
          ...(others ? { otherKeyParts: others.map((k) => (byName.has(k) ? ident(k) : "NULL")) } : {}),
        });
        fail(
          "unique",
          `(${flag})`,
          onKey ? "shared by rows with different keys in the batch" : "occurs more than once in the batch",
        );
      }
    }
    i++;
  }

  for (const m of markers) {
    checks.push({
      cond: `(${ident(m.name)} IS NOT NULL)`,
      struct: failureStruct(
        m.column,
        m.rule,
        `${ident(m.name)}::VARCHAR`,
        m.rule === "type" ? "could not be converted by a transform" : `${m.rule} (reported by a transform)`,
      ),
    });
  }

  const extraSelect: string[] = [];
  for (const extra of extras) {
    const raw = ident(extra.name);
    if (contract.extra_columns === "keep") extraSelect.push(raw);
    if (contract.extra_columns === "reject") {
      checks.push({
        cond: `(${raw} IS NOT NULL)`,
        struct: failureStruct(
          extra.name,
          "extra_column",
          originalText(raw, extra.type),
          "column not in the contract (extra_columns: reject)",
        ),
      });
    }
  }

  const uniqueCols = Object.entries(contract.columns)
    .filter(([, s]) => s.unique)
    .map(([n]) => n)
    .filter((n) => byName.has(n));
  const rowKey =
    uniqueCols.length === 0
      ? undefined
      : uniqueCols.length === 1
        ? originalText(ident(uniqueCols[0]!), byName.get(uniqueCols[0]!)!.type)
        : `concat_ws(' | ', ${uniqueCols.map((n) => originalText(ident(n), byName.get(n)!.type)).join(", ")})`;

  return {
    outputSelect: [...outputSelect, ...extraSelect],
    typedOutputSelect: [...typedOutputSelect, ...extraSelect],
    typedSelect,
    originalSelect: data
      .filter((c) => c.name !== SOURCE_POS)
      .map((c) => {
        // A value a transform could not convert is NULL now; its marker holds the original text.
        const marked = markers.filter((m) => m.column === c.name).map((m) => `${ident(m.name)}::VARCHAR`);
        const text = originalText(ident(c.name), c.type);
        return `${marked.length ? `coalesce(${text}, ${marked.join(", ")})` : text} AS ${ident(c.name)}`;
      }),
    hasChecks: checks.length > 0,
    anyFailure: checks.length === 0 ? "FALSE" : checks.map((c) => c.cond).join(" OR "),
    failureList:
      checks.length === 0
        ? `[]::${FAILURES_TYPE}`
        : `list_filter([${checks.map((c) => `CASE WHEN ${c.cond} THEN ${c.struct} END`).join(", ")}], f -> f IS NOT NULL)`,
    uniqueChecks,
    rowKey,
    castable,
  };
}

/**
 * A value's text as the source gave it, for reports and the quarantine's
 * original row. Nested values become JSON text, so a replay can cast them back.
 */
export function originalText(raw: string, type: string): string {
  if (type === "VARCHAR") return raw;
  if (isNested(type)) return `to_json(${raw})::VARCHAR`;
  return `${raw}::VARCHAR`;
}

function isNested(type: string): boolean {
  return /^(STRUCT|MAP|UNION)\(|\[\d*\]$/.test(type);
}

const INTEGER_TYPES = new Set([
  "TINYINT",
  "SMALLINT",
  "INTEGER",
  "BIGINT",
  "HUGEINT",
  "UTINYINT",
  "USMALLINT",
  "UINTEGER",
  "UBIGINT",
  "UHUGEINT",
]);
const FRACTIONAL = /^(FLOAT|DOUBLE|REAL|DECIMAL)/;

/**
 * SQL giving `raw` (of DuckDB type `inType`) as the contract type, NULL when
 * it does not cast. `canFail` is false when every non-NULL value casts.
 */
export function castExpression(
  raw: string,
  inType: string,
  type: ColumnSpec["type"],
): { expr: string; canFail: boolean } {
  if (inType === CONTRACT_DESCRIBED_TYPES[type]) return { expr: raw, canFail: false };
  const target = CONTRACT_DUCKDB_TYPES[type];
  switch (type) {
    case "string":
      return { expr: originalText(raw, inType), canFail: false };
    case "json":
      if (inType === "VARCHAR") return { expr: `TRY_CAST(${raw} AS JSON)`, canFail: true };
      return { expr: `to_json(${raw})`, canFail: false };
    case "integer":
      if (inType === "VARCHAR") {
        // TRY_CAST('1.5' AS BIGINT) rounds to 2: text with a fraction or exponent must be integral to pass.
        const d = `TRY_CAST(${raw} AS DOUBLE)`;
        return {
          expr: `(CASE WHEN contains(${raw}, '.') OR contains(${raw}, 'e') OR contains(${raw}, 'E') THEN (CASE WHEN ${d} = trunc(${d}) THEN TRY_CAST(${d} AS BIGINT) END) ELSE TRY_CAST(${raw} AS BIGINT) END)`,
          canFail: true,
        };
      }
      if (FRACTIONAL.test(inType))
        return { expr: `(CASE WHEN ${raw} = trunc(${raw}) THEN TRY_CAST(${raw} AS BIGINT) END)`, canFail: true };
      return {
        expr: `TRY_CAST(${raw} AS BIGINT)`,
        canFail: !INTEGER_TYPES.has(inType) || /^U?(BIGINT|HUGEINT)$/.test(inType),
      };
    case "number":
      return { expr: `TRY_CAST(${raw} AS DOUBLE)`, canFail: !(INTEGER_TYPES.has(inType) || FRACTIONAL.test(inType)) };
    default:
      return { expr: `TRY_CAST(${raw} AS ${target})`, canFail: true };
  }
}

function enumLiteral(value: string | number, type: ColumnSpec["type"]): string {
  if (type === "string" || type === "json") return literal(String(value));
  if ((type === "integer" || type === "number") && typeof value === "number") return String(value);
  return `TRY_CAST(${literal(String(value))} AS ${CONTRACT_DUCKDB_TYPES[type]})`;
}

/** The contract's name for messages: the named contract, or `(inline)`. */
export function contractName(contract: string | ContractSpec | undefined): string {
  return typeof contract === "string" ? contract : "(inline)";
}
