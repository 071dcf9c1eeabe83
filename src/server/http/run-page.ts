import { html } from "hono/html";
import { formatFailures, type QuarantineListing } from "../../contracts/list-quarantine.js";
import type { RunRecord } from "../../plan/run-record.js";
import { duration, type Html, layout, percent, statusBadge, when } from "./layout.js";

/** Quarantined rows read for the failure counts of a run's page (bounded: the page never reads a whole file). */
export const FAILURE_SCAN_ROWS = 1000;
const SAMPLE_ROWS = 10;

/**
 * A run's detail: stage timings (a bar per stage), counts, metrics, alerts, the error with its hint,
 * validation failures counted over the first FAILURE_SCAN_ROWS quarantined rows, and a sample of
 * them. `quarantine` is the run's quarantine listing (undefined when it has none).
 */
export function runPage(r: RunRecord, quarantine: QuarantineListing | undefined): Html {
  const body = html`<p class="summary">${statusBadge(r.status)} <strong>${r.pipeline}</strong> · ${r.processing_type}
· started ${when(r.started_at)} · finished ${when(r.finished_at)}
· ${duration(Date.parse(r.finished_at) - Date.parse(r.started_at))} · ${r.attempts} attempt(s)</p>
<p class="muted">source: ${r.source}${r.batch_id ? html` · batch ${r.batch_id}` : ""}</p>
${r.error ? errorBlock(r.error) : ""}
<section><h2>Stage timings</h2>${stageBars(r.durations_ms)}</section>
<section class="cols">
<div><h2>Counts</h2>${counts(r)}</div>
<div><h2>Metrics</h2>${metrics(r)}</div>
</section>
<section><h2>Alerts</h2>${
    r.alerts.length
      ? html`<ul class="alerts">${r.alerts.map((a) => html`<li><strong>${a.metric}</strong> ${a.rule}: ${a.message}</li>`)}</ul>`
      : html`<p class="muted">none fired</p>`
  }</section>
${r.warnings.length ? html`<section><h2>Warnings</h2><ul>${r.warnings.map((w) => html`<li>${w}</li>`)}</ul></section>` : ""}
${quarantine ? quarantineBlock(r, quarantine) : ""}
${
  r.deadletter_path
    ? html`<section><h2>Dead letters</h2><p>${r.rows.dead_lettered ?? 0} rows in ${r.deadletter_path}
· <a href="/deadletter?pipeline=${encodeURIComponent(r.pipeline)}">browse and replay</a></p></section>`
    : ""
}
<section><h2>Outputs</h2>${outputs(r)}</section>`;
  return layout(`Run ${r.run_id}`, "runs", body);
}

function errorBlock(e: NonNullable<RunRecord["error"]>): Html {
  return html`<section class="error-box" id="run-error"><h2>Error${e.stage ? html` in ${e.stage}` : ""}${e.transient ? " (transient)" : ""}</h2>
<pre>${e.message}</pre>${e.hint ? html`<p class="hint"><strong>Hint:</strong> ${e.hint}</p>` : ""}</section>`;
}

/** One horizontal bar per stage, widths relative to the slowest stage. */
export function stageBars(durations: Readonly<Record<string, number>>): Html {
  const entries = Object.entries(durations);
  if (entries.length === 0) return html`<p class="muted">no timings recorded</p>`;
  const max = Math.max(...entries.map(([, ms]) => ms), 1);
  return html`<div class="bars" id="stage-bars">${entries.map(
    ([stage, ms]) => html`<div class="bar-row"><span class="bar-label">${stage}</span>
<span class="bar-track"><span class="bar" style="width:${((ms / max) * 100).toFixed(1)}%"></span></span>
<span class="bar-value">${duration(ms)}</span></div>`,
  )}</div>`;
}

function counts(r: RunRecord): Html {
  const rows: [string, number | null | undefined][] = [
    ["extracted", r.rows.extracted],
    ["filtered", r.rows.filtered],
    ["valid", r.rows.valid],
    ["quarantined", r.rows.quarantined],
    ["dead-lettered", r.rows.dead_lettered],
    ["duplicates", r.rows.duplicates],
    ["duplicates dropped", r.rows.duplicates_dropped],
    ["written", r.rows.written],
    ["dataset rows", r.rows.dataset],
  ];
  return html`<table class="kv" id="counts">${rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => html`<tr><th>${k}</th><td class="num">${v === null ? "unknown" : v}</td></tr>`)}</table>`;
}

function metrics(r: RunRecord): Html {
  const m = r.metrics;
  const nulls = Object.entries(m.null_rate ?? {}).filter(([, v]) => v > 0);
  return html`<table class="kv">
<tr><th>pass rate</th><td class="num">${percent(m.validation_pass_rate)}</td></tr>
<tr><th>duplicate rate</th><td class="num">${percent(m.duplicate_rate)}</td></tr>
<tr><th>row count delta</th><td class="num">${m.row_count_delta === null ? "—" : percent(m.row_count_delta)}</td></tr>
${nulls.map(([c, v]) => html`<tr><th>nulls in ${c}</th><td class="num">${percent(v)}</td></tr>`)}
${resources(r)}
</table>`;
}

/** Peak memory and CPU time of the run (the record's `resources`; absent in older records). */
function resources(r: RunRecord): Html | string {
  const x = r.resources;
  if (!x) return "";
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  return html`<tr><th>peak memory</th><td class="num" id="peak-rss">${mb(x.peak_rss_bytes)}</td></tr>
<tr><th>CPU time</th><td class="num">${duration(x.cpu_user_ms + x.cpu_system_ms)}</td></tr>`;
}

function quarantineBlock(r: RunRecord, q: QuarantineListing): Html {
  const counts = new Map<string, number>();
  for (const row of q.rows)
    for (const f of row.failures) {
      const key = `${f.column ? `${f.column}: ` : ""}${f.rule}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const scanned = q.rows.length < q.total ? ` (in the first ${q.rows.length} of ${q.total} rows)` : "";
  return html`<section id="validation"><h2>Validation failures</h2>
<table class="kv">${sorted.map(([k, n]) => html`<tr><th>${k}</th><td class="num">${n}</td></tr>`)}</table>
<p class="muted">${q.total} quarantined rows${scanned}</p>
<h3>Quarantine sample</h3>
<table class="sample"><thead><tr><th>position</th><th>rules broken</th><th>row</th></tr></thead><tbody>
${q.rows
  .slice(0, SAMPLE_ROWS)
  .map(
    (row) =>
      html`<tr><td>${row.source_pos ?? ""}</td><td>${formatFailures(row.failures)}</td><td><code>${row.raw ?? JSON.stringify(row.row)}</code></td></tr>`,
  )}
</tbody></table>
<p><a href="/quarantine?pipeline=${encodeURIComponent(r.pipeline)}&amp;run=${encodeURIComponent(r.run_id)}">all quarantined rows of this run, replay</a></p>
</section>`;
}

function outputs(r: RunRecord): Html {
  if (r.outputs.length === 0 && !r.commits?.length) return html`<p class="muted">nothing written</p>`;
  return html`<table class="kv">${r.outputs.map(
    (o) =>
      html`<tr><th>${o.sink}</th><td>${o.status}</td><td class="num">${o.rows}</td><td>${o.table ?? o.path ?? ""}</td></tr>`,
  )}</table>`;
}
