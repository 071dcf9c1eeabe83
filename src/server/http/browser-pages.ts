import { html } from "hono/html";
import { formatFailures, type QuarantineListing } from "../../contracts/list-quarantine.js";
import type { DeadLetterFile } from "../../runner/dead-letters.js";
import { type Html, layout, pipelineChooser, runHref, select, when } from "./layout.js";

/**
 * The quarantine browser: the chosen pipeline's quarantined rows (all runs, or `run`), read by
 * contracts/list-quarantine.ts as `sluice quarantine` reads them, with a replay button per run
 * (POST /api/pipelines/<name>/replay, which runs `sluice replay PIPELINE --run RUN`).
 */
export function quarantinePage(
  pipelines: readonly string[],
  chosen: string | undefined,
  run: string | undefined,
  listing: QuarantineListing | undefined,
): Html {
  if (!chosen || !listing) {
    return layout(
      "Quarantine",
      "quarantine",
      html`${pipelineChooser("/quarantine", pipelines, chosen)}<p class="muted">Choose a pipeline.</p>`,
    );
  }
  const body = html`<form method="get" action="/quarantine" class="filters">
<label>Pipeline ${select("pipeline", chosen, pipelines, "choose…")}</label>
<label>Run ${select("run", run, listing.runs)}</label>
<button type="submit">Show</button>
</form>
<p id="quarantine-total">${listing.total} quarantined rows in ${listing.runs.length} runs${listing.rows.length < listing.total ? `; showing ${listing.rows.length}` : ""}</p>
<table class="runs"><thead><tr><th>Run with quarantined rows</th><th></th></tr></thead><tbody>
${(run ? [run] : listing.runs).map(
  (r) => html`<tr><td><a href="${runHref(chosen, r)}">${r}</a></td>
<td><button type="button" data-replay="${chosen}" data-run="${r}">Replay</button></td></tr>`,
)}
</tbody></table>
<p class="result" data-result></p>
<table class="sample" id="quarantine-rows"><thead><tr><th>run</th><th>position</th><th>rules broken</th><th>row</th></tr></thead><tbody>
${listing.rows.map(
  (row) => html`<tr><td>${row.run_id}</td><td>${row.source_pos ?? ""}</td><td>${formatFailures(row.failures)}</td>
<td><code>${row.raw ?? JSON.stringify(row.row)}</code></td></tr>`,
)}
</tbody></table>`;
  return layout(`Quarantine: ${chosen}`, "quarantine", body);
}

/**
 * The dead-letter browser: the files of `deadletter/<pipeline>/` as `sluice deadletter` lists them
 * (runner/dead-letters.ts), their errors and a sample, with a replay button per file
 * (POST /api/pipelines/<name>/replay-deadletter, which runs `sluice replay PIPELINE --deadletter FILE`).
 */
export function deadLetterPage(
  pipelines: readonly string[],
  chosen: string | undefined,
  files: readonly DeadLetterFile[] | undefined,
): Html {
  if (!chosen || !files) {
    return layout(
      "Dead letters",
      "deadletter",
      html`${pipelineChooser("/deadletter", pipelines, chosen)}<p class="muted">Choose a pipeline.</p>`,
    );
  }
  const total = files.reduce((n, f) => n + f.rows, 0);
  const body = html`${pipelineChooser("/deadletter", pipelines, chosen)}
<p id="deadletter-total">${total} dead letters in ${files.length} files</p>
<p class="result" data-result></p>
${files.map(
  (f) => html`<section class="letter-file" data-file="${f.file}">
<h2>${f.file} <small class="muted">${f.kind} · ${f.rows} rows · ${when(f.time)}</small>
<button type="button" data-replay-deadletter="${chosen}" data-file="${f.file}">Replay</button></h2>
<table class="kv">${f.errors.map((e) => html`<tr><th>${e.stage ?? ""}</th><td>${e.error}</td><td class="num">${e.count}</td></tr>`)}</table>
${
  f.sample?.length
    ? html`<table class="sample"><thead><tr><th>position</th><th>error</th><th>record</th></tr></thead><tbody>${f.sample.map(
        (s) => html`<tr><td>${s.source_pos ?? ""}</td><td>${s.error}</td><td><code>${s.record}</code></td></tr>`,
      )}</tbody></table>`
    : ""
}
</section>`,
)}`;
  return layout(`Dead letters: ${chosen}`, "deadletter", body);
}

/**
 * The live tail of a running stream (what `sluice tail` shows): the script opens
 * `/api/pipelines/<name>/tail?where=...` (server-sent events) and appends each row with its verdict.
 */
export function tailPage(streams: readonly string[], chosen: string | undefined, where: string | undefined): Html {
  const body = html`<form method="get" action="/tail" class="filters">
<label>Stream ${select("pipeline", chosen, streams, "choose…")}</label>
<label>Where <input type="text" name="where" size="40" value="${where ?? ""}" placeholder="_verdict = 'quarantined'"></label>
<button type="submit">Tail</button>
</form>
${
  chosen
    ? html`<p class="muted" data-tail-status>connecting…</p>
<table class="sample" data-tail="${chosen}" data-where="${where ?? ""}"><thead><tr><th>verdict</th><th>position</th><th>record</th><th>reason</th></tr></thead><tbody></tbody></table>`
    : html`<p class="muted">${streams.length ? "Choose a stream pipeline." : "No stream pipelines are configured."}</p>`
}`;
  return layout(chosen ? `Live tail: ${chosen}` : "Live tail", "tail", body);
}
