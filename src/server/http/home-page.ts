import { html } from "hono/html";
import type { Incident } from "../../quality/alert-incidents.js";
import type { PipelineStatus } from "../serve-context.js";
import { duration, type Html, layout, runHref, statusBadge, when } from "./layout.js";
import type { RunIndex, RunSummary } from "./run-index.js";

/** A scheduled run this far past its time with nothing running is late. */
const LATE_AFTER_MS = 60_000;
/** Runs in a sparkline. */
const SPARK_RUNS = 30;

/** One row of the home page: what is needed to answer "is this pipeline healthy". */
export interface PipelineHealth {
  readonly name: string;
  readonly status?: PipelineStatus;
  readonly last?: RunSummary;
  readonly lastSuccess?: RunSummary;
  readonly late: boolean;
  readonly failing: boolean;
  readonly durations: number[];
}

/**
 * Health of every pipeline (configured ones and any the scheduler or the ledger knows). Failing: the
 * newest run did not succeed, or a stream worker is backing off. Late: the next scheduled run is more
 * than a minute overdue with nothing running, or scheduled runs were missed and not caught up.
 */
export function pipelineHealth(index: RunIndex, statuses: readonly PipelineStatus[], configured: string[], now: Date) {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const names = [...new Set([...configured, ...statuses.map((s) => s.name), ...index.pipelines()])].sort();
  return names.map((name): PipelineHealth => {
    const status = byName.get(name);
    const { last, lastSuccess } = index.latest(name);
    const overdue = status?.nextRun !== undefined && Date.parse(status.nextRun) < now.getTime() - LATE_AFTER_MS;
    const missed = status?.missed !== undefined && status.missed.count > 0 && !status.missed.caughtUp;
    return {
      name,
      ...(status ? { status } : {}),
      ...(last ? { last } : {}),
      ...(lastSuccess ? { lastSuccess } : {}),
      late: !status?.running && (overdue || missed),
      failing: (last !== undefined && last.status !== "succeeded") || status?.worker?.state === "backoff",
      durations: index
        .list({ pipeline: name })
        .slice(-SPARK_RUNS)
        .map((r) => r.duration_ms),
    };
  });
}

/** The home page: one line per pipeline, the ones needing attention flagged, a headline on top, then the open alerts. */
export function homePage(rows: readonly PipelineHealth[], incidents: readonly Incident[] = []): Html {
  const bad = rows.filter((r) => r.late || r.failing);
  const headline =
    bad.length === 0
      ? html`<p class="headline ok" id="headline">All ${rows.length} pipelines healthy</p>`
      : html`<p class="headline bad" id="headline">${bad.length} of ${rows.length} pipelines need attention: ${bad.map((r) => r.name).join(", ")}</p>`;
  const body = html`${headline}
<table class="pipelines">
<thead><tr><th>Pipeline</th><th>Last run</th><th>Last success</th><th>Next run</th><th>Flags</th><th>Durations</th><th></th></tr></thead>
<tbody>
${rows.map(pipelineRow)}
</tbody>
</table>
${alertsPanel(incidents)}`;
  return layout("Pipelines", "home", body);
}

/** Open alert incidents (quality/alert-incidents.ts): what fired, since when, how many runs or checks since. */
function alertsPanel(incidents: readonly Incident[]): Html {
  if (incidents.length === 0) return html`<p class="muted" id="alerts">No open alerts.</p>`;
  return html`<h2 id="alerts">Open alerts</h2>
<table class="alerts">
<thead><tr><th>Pipeline</th><th>Alert</th><th>Since</th><th>Fired</th></tr></thead>
<tbody>
${incidents.map(
  (i) =>
    html`<tr data-incident="${i.fingerprint}"><td>${i.pipeline}</td><td>${i.message}</td><td>${when(i.startsAt)}</td><td>${i.count}x</td></tr>`,
)}
</tbody>
</table>`;
}

function pipelineRow(r: PipelineHealth): Html {
  const s = r.status;
  const running = s?.running
    ? html`<span class="badge running">running</span> <span class="progress" data-progress>${s.running.trigger ?? ""}</span>`
    : "";
  const last = r.last
    ? html`<a href="${runHref(r.name, r.last.run_id)}">${statusBadge(r.last.status)}</a> ${when(r.last.finished_at)}`
    : html`<span class="muted">never ran</span>`;
  const next = s?.nextRun
    ? html`${when(s.nextRun)}${s.schedule ? html` <span class="muted">(${s.schedule})</span>` : ""}`
    : s?.kind === "stream"
      ? html`stream: ${s.worker?.state ?? "not started"}`
      : s?.after.length
        ? html`after ${s.after.join(", ")}`
        : html`<span class="muted">manual</span>`;
  return html`<tr data-pipeline-row="${r.name}" class="${r.late || r.failing ? "attention" : ""}">
<td><a href="/runs?pipeline=${encodeURIComponent(r.name)}">${r.name}</a></td>
<td data-status>${running || last}</td>
<td>${r.lastSuccess ? when(r.lastSuccess.finished_at) : html`<span class="muted">—</span>`}</td>
<td>${next}</td>
<td>${r.failing ? html`<span class="flag failing">failing</span>` : ""}${r.late ? html`<span class="flag late">late</span>` : ""}</td>
<td>${sparkline(r.durations)}</td>
<td><button type="button" data-run-now="${r.name}">Run now</button></td>
</tr>`;
}

/** Durations as an inline SVG line (no script needed), the newest on the right. */
export function sparkline(values: readonly number[]): Html {
  if (values.length < 2) return html`<span class="muted">${values.length ? duration(values[0]!) : "—"}</span>`;
  const w = 120;
  const h = 24;
  const max = Math.max(...values, 1);
  const points = values
    .map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`)
    .join(" ");
  return html`<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="durations of the last ${values.length} runs, newest ${duration(values.at(-1)!)}"><polyline points="${points}" /></svg>`;
}
