import { suggest } from "../config/suggest.js";
import { SOURCE_POS } from "../engine/system-columns.js";
import { SluiceError } from "../errors.js";

/**
 * Throws a configuration error (exit 2) when `name` is not among `available`:
 * names the transform step, the column, a did-you-mean and the columns that
 * exist (internal `_`-prefixed ones left out of the list).
 */
export function requireColumn(available: readonly string[], name: string, step: string): void {
  if (available.includes(name)) return;
  const visible = available.filter((c) => !c.startsWith("_"));
  const guess = suggest(name, visible);
  throw new SluiceError(`${step}: no column \`${name}\` in the batch${guess ? `; did you mean \`${guess}\`?` : ""}`, {
    component: "transform",
    stage: "transform",
    hint: `columns at this step: ${visible.join(", ") || "(none)"}. Transforms run in order: a column renamed or dropped by an earlier step has its new name here.`,
    exitCode: 2,
  });
}

/** Throws a configuration error (exit 2) for a step that would overwrite or drop `_source_pos`. */
export function refuseSourcePos(name: string, step: string): void {
  if (name !== SOURCE_POS) return;
  throw new SluiceError(`${step}: \`${SOURCE_POS}\` is sluice's row position column and cannot be changed`, {
    component: "transform",
    stage: "transform",
    hint: "name another column; `_source_pos` is removed before rows are written",
    exitCode: 2,
  });
}

/** A configuration error (exit 2) raised by a transform step. */
export function transformConfigError(message: string, hint: string): SluiceError {
  return new SluiceError(message, { component: "transform", stage: "transform", hint, exitCode: 2 });
}

/** The first line of an error's message (DuckDB appends candidate lists and a SQL pointer). */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0] ?? message;
}
