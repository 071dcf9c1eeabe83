import type { RunRecord } from "../plan/run-record.js";
import type { SinkDedup } from "../sinks/sink.js";
import { plural } from "./plural.js";

const n = (x: number) => x.toLocaleString("en-US");

/** The human summary printed after a run on a terminal (and to stdout without --json). */
export function formatSummary(r: RunRecord): string {
  const secs = ((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000).toFixed(2);
  const lines = [`${r.pipeline}: ${r.status} in ${secs}s (run ${r.run_id})`];
  if (r.status !== "failed" || r.rows.extracted > 0) {
    lines.push(
      `  rows: ${n(r.rows.extracted)} extracted, ${n(r.rows.valid)} valid, ${n(r.rows.quarantined)} quarantined, ` +
        `${n(r.rows.duplicates)} duplicates (${n(r.rows.duplicates_dropped)} dropped), ${n(r.rows.written)} written` +
        (r.rows.dead_lettered !== undefined ? `, ${n(r.rows.dead_lettered)} dead-lettered` : ""),
    );
  }
  const k = r.rows.keys;
  if (k) lines.push(`  keys: ${n(k.new)} new, ${n(k.changed)} changed, ${n(k.unchanged)} unchanged`);
  if (r.status === "succeeded" && r.rows.dataset != null)
    lines.push(`  dataset: ${plural(r.rows.dataset, "row")} after this run`);
  if (r.status === "succeeded" && r.rows.extracted === 0 && !r.rows.dataset)
    lines.push("  the source had no rows: outputs hold the schema only");
  // A run that read nothing says what it looked at (`source: no new files matching in/*.csv`).
  if (r.status === "succeeded" && r.rows.extracted === 0 && r.source) lines.push(`  source: ${r.source}`);
  for (const o of r.outputs) {
    const size = o.bytes !== undefined ? `, ${(o.bytes / 1024 / 1024).toFixed(1)} MiB` : "";
    lines.push(
      `  ${o.status === "written" ? "->" : "!!"} ${o.sink}: ${o.path ?? o.table ?? ""} (${plural(o.rows, "row")}${size})`,
    );
    if (o.dedup && o.dedup.strategy !== "none") lines.push(`     dedup ${formatSinkDedup(o.dedup)}`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  if (r.sinks_disagree) {
    const { missing, batch_id } = r.sinks_disagree;
    lines.push(`  sinks disagree: ${missing.join(", ")} do not hold batch ${batch_id}; the next run repairs them`);
  }
  if (r.quarantine_path) lines.push(`  quarantine: ${r.quarantine_path}`);
  if (r.deadletter_path) lines.push(`  dead letters: ${r.deadletter_path}`);
  if (r.report_path) lines.push(`  failure report: ${r.report_path}`);
  for (const a of r.alerts) lines.push(`  alert: ${a.message}`);
  if (r.error) {
    lines.push(`  error: ${r.error.message}`);
    if (r.error.hint) lines.push(`  hint: ${r.error.hint}`);
  }
  return `${lines.join("\n")}\n`;
}

/** `merge: 12 duplicates seen (3 in the batch, 9 in the table), 10 dropped, 2 merged; 40 rows written`. */
export function formatSinkDedup(d: SinkDedup): string {
  const done =
    d.action === "kept_and_marked"
      ? `${n(d.marked ?? 0)} kept and marked _duplicate`
      : d.action === "merged"
        ? `${n(d.dropped)} dropped, ${n(d.merged ?? 0)} merged`
        : d.action === "dropped"
          ? `${n(d.dropped)} dropped`
          : "kept";
  return `${d.strategy}: ${n(d.duplicates_seen)} duplicates seen (${n(d.within_batch)} in the batch, ${n(d.against_table)} in the table), ${done}; ${n(d.written)} rows written`;
}

/** Per sink, what dedup did over the written outputs of many records (a stream's micro-batches). */
export function addSinkDedup(totals: Map<string, SinkDedup>, r: RunRecord): void {
  for (const o of r.outputs) {
    if (o.status !== "written" || !o.dedup || o.dedup.strategy === "none") continue;
    const t = totals.get(o.sink);
    const d = o.dedup;
    if (!t) {
      totals.set(o.sink, { ...d });
      continue;
    }
    const sum = (a: number | undefined, b: number | undefined) =>
      a === undefined && b === undefined ? {} : (a ?? 0) + (b ?? 0);
    totals.set(o.sink, {
      ...t,
      duplicates_seen: t.duplicates_seen + d.duplicates_seen,
      within_batch: t.within_batch + d.within_batch,
      against_table: t.against_table + d.against_table,
      dropped: t.dropped + d.dropped,
      written: t.written + d.written,
      ...(t.merged !== undefined || d.merged !== undefined ? { merged: sum(t.merged, d.merged) as number } : {}),
      ...(t.marked !== undefined || d.marked !== undefined ? { marked: sum(t.marked, d.marked) as number } : {}),
    });
  }
}
