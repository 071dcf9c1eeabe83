import { plural } from "./plural.js";

/** Options of formatRows. */
export interface FormatOptions {
  /** Columns holding JSON text: `json` emits their values as JSON values, not as escaped strings. */
  readonly jsonColumns?: ReadonlySet<string>;
}

/** Renders small query results for the terminal (table), spreadsheets (csv) or machines (json). */
export function formatRows(
  rows: Record<string, unknown>[],
  format: "table" | "csv" | "json",
  options: FormatOptions = {},
): string {
  if (format === "json")
    return `${JSON.stringify(
      rows.map((r) => plain(r, options.jsonColumns)),
      null,
      2,
    )}\n`;
  const columns = rows.length ? Object.keys(rows[0]!) : [];
  const cells = rows.map((r) => columns.map((c) => text(r[c])));
  if (format === "csv") {
    const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    return [columns, ...cells].map((line) => line.map(esc).join(",")).join("\n") + (columns.length ? "\n" : "");
  }
  if (columns.length === 0) return "(no rows)\n";
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[i]!.length))));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.slice(0, 60).padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const body = [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
  return `${body}\n(${plural(rows.length, "row")})\n`;
}

function plain(row: Record<string, unknown>, jsonColumns?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = jsonColumns?.has(k) ? parseJson(v) : toJson(v);
  return out;
}

/** A JSON column's text as the value it encodes (the text itself if it does not parse). */
function parseJson(v: unknown): unknown {
  if (typeof v !== "string") return toJson(v);
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

function toJson(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === "object") return plain(v as Record<string, unknown>);
  return v;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object" && !(v instanceof Date)) return JSON.stringify(toJson(v));
  const j = toJson(v);
  return typeof j === "string" ? j : String(j);
}
