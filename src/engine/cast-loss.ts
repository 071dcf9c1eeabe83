import type { Engine } from "./engine.js";
import { ident } from "./sql.js";

/** A column of a relation to be cast from its type to another. */
export interface ColumnCast {
  readonly column: string;
  readonly from: string;
  readonly to: string;
}

/** A cast that would lose values: how many non-null values, one of them, or that no cast exists. */
export interface CastLoss extends ColumnCast {
  readonly lost: number;
  readonly example?: string;
  /** DuckDB has no cast between the two types (the relation cannot be cast at all). */
  readonly impossible?: boolean;
}

/**
 * The casts of `casts` that would lose a non-null value of `relation`: a value that does not
 * convert (`'abc'` to BIGINT), or that does not read back equal (5.5 DOUBLE to BIGINT is 6;
 * DECIMAL(10,2) 1.25 to DECIMAL(10,1)). Text (VARCHAR, JSON) is parsed, so only a failure counts.
 * NULLs cast to every type. One scan of the relation per cast.
 */
export async function lossyCasts(
  engine: Engine,
  relation: string,
  casts: readonly ColumnCast[],
  stage: string,
): Promise<CastLoss[]> {
  const losses: CastLoss[] = [];
  for (const cast of casts) {
    const loss = await castLoss(engine, relation, cast, stage);
    if (loss) losses.push(loss);
  }
  return losses;
}

async function castLoss(engine: Engine, relation: string, cast: ColumnCast, stage: string) {
  const c = ident(cast.column);
  const converted = `TRY_CAST(${c} AS ${cast.to})`;
  const changed = isText(cast.from) ? "false" : `CAST(${converted} AS ${cast.from}) IS DISTINCT FROM ${c}`;
  const lossy = `${c} IS NOT NULL AND (${converted} IS NULL OR ${changed})`;
  let row: { n: bigint | number; e: string | null } | undefined;
  try {
    row = await engine.one(
      `SELECT count(*) FILTER (WHERE ${lossy}) AS n, any_value(CAST(${c} AS VARCHAR)) FILTER (WHERE ${lossy}) AS e FROM ${relation}`,
      stage,
    );
  } catch {
    return { ...cast, lost: 0, impossible: true };
  }
  const lost = Number(row?.n ?? 0);
  return lost > 0 ? { ...cast, lost, ...(row?.e != null ? { example: row.e } : {}) } : undefined;
}

function isText(type: string): boolean {
  const t = type.trim().toUpperCase();
  return t === "VARCHAR" || t === "JSON";
}

/** "3 values of amount (DOUBLE, e.g. 6.5) do not fit BIGINT" — for error messages. */
export function describeLoss(loss: CastLoss, toName = loss.to): string {
  if (loss.impossible) return `\`${loss.column}\` (${loss.from}) cannot be cast to ${toName}`;
  const example = loss.example === undefined ? "" : `, e.g. ${JSON.stringify(loss.example)}`;
  const values = loss.lost === 1 ? "1 value" : `${loss.lost} values`;
  return `${values} of \`${loss.column}\` (${loss.from}${example}) would not survive a cast to ${toName}`;
}
