import type { SourceContext } from "../source.js";
import { readLines } from "./read-lines.js";
import { lineOf, type RecordLayout } from "./record-layout.js";
import type { InputFile } from "./resolve-files.js";
import { UnparseableFile } from "./unparseable-file.js";

/** The lines that are not JSON objects, with their position, raw text (read back from the file) and reason. */
export async function collectBadLines(
  ctx: SourceContext,
  lines: string,
  good: string,
  files: readonly InputFile[],
  layouts: readonly RecordLayout[],
  dir: string,
): Promise<UnparseableFile> {
  const bad = await ctx.engine.all<{ k: bigint | number; kind: string | null }>(
    `SELECT rowid AS k, CASE WHEN j IS NULL THEN NULL ELSE json_type(j) END AS kind
       FROM ${lines} WHERE NOT (${good}) ORDER BY rowid`,
    "extract",
  );
  // Global record index (rows are in file order) -> file and line.
  const byFile = new Map<number, { line: number; kind: string | null }[]>();
  let f = 0;
  let start = 0;
  for (const b of bad) {
    const k = Number(b.k);
    while (k >= start + layouts[f]!.records) start += layouts[f++]!.records;
    const entries = byFile.get(f) ?? [];
    entries.push({ line: lineOf(layouts[f]!, k - start), kind: b.kind });
    byFile.set(f, entries);
  }
  const out = await UnparseableFile.create(dir);
  for (const [f, entries] of byFile) {
    const raw = await readLines(
      files[f]!.path,
      entries.map((e) => e.line),
    );
    for (const e of entries) {
      await out.add(`${files[f]!.display}:${e.line}`, raw.get(e.line) ?? "", reason(e.kind));
    }
  }
  return out;
}

function reason(kind: string | null): string {
  if (kind === null) return "malformed JSON";
  const found: Record<string, string> = { ARRAY: "an array", VARCHAR: "a string", BOOLEAN: "a boolean", NULL: "null" };
  return `expected a JSON object, found ${found[kind] ?? "a number"}`;
}
