/** Renders small query results for the terminal (table), spreadsheets (csv) or machines (json). */
export function formatRows(rows: Record<string, unknown>[], format: "table" | "csv" | "json"): string {
  if (format === "json") return `${JSON.stringify(rows.map(plain), null, 2)}\n`;
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
  return `${[line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")}\n(${rows.length} rows)\n`;
}

function plain(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = toJson(v);
  return out;
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
