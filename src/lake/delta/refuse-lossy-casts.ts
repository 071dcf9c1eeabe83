import { type ColumnCast, describeLoss, lossyCasts } from "../../engine/cast-loss.js";
import type { Engine } from "../../engine/engine.js";
import { deltaError } from "./delta-error.js";

/**
 * Throws when casting the batch's columns to the Delta table's types would lose a value (`'abc'`
 * or 6.5 into a `long` column), naming each column, both types and a value. Widening the table's
 * type instead needs the Delta `typeWidening` table feature, which sluice does not write.
 */
export async function refuseLossyCasts(
  engine: Engine,
  relation: string,
  casts: readonly (ColumnCast & { readonly delta: string })[],
): Promise<void> {
  const losses = await lossyCasts(engine, relation, casts, "delta write");
  if (losses.length === 0) return;
  const delta = new Map(casts.map((c) => [c.column, c.delta]));
  const what = losses.map((l) => describeLoss(l, `the table's ${delta.get(l.column)} (${l.to})`));
  throw deltaError(
    `the batch does not fit the Delta table's column types: ${what.join("; ")}`,
    "a Delta column's type only changes with the typeWidening table feature, which sluice does not write: cast the column to the table's type in a transform or a contract, or replace the table (a full run rewrites its schema)",
    "write",
  );
}
