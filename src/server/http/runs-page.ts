import { html } from "hono/html";
import { duration, type Html, layout, runHref, select, statusBadge, when } from "./layout.js";
import type { RunFilter, RunIndex } from "./run-index.js";

export const PAGE_SIZE = 50;
const STATUSES = ["succeeded", "failed", "validation_failed"];

/** The run-history filters as they appear in the URL (`?pipeline=&status=&from=&to=&page=`). */
export interface RunsQuery extends RunFilter {
  readonly page: number;
}

/** Reads the filters from query parameters; unknown values are dropped, never trusted further. */
export function runsQuery(q: (name: string) => string | undefined): RunsQuery {
  const text = (name: string) => {
    const v = q(name)?.trim();
    return v ? v : undefined;
  };
  const status = text("status");
  const page = Number(q("page") ?? "1");
  return {
    ...(text("pipeline") ? { pipeline: text("pipeline")! } : {}),
    ...(status && STATUSES.includes(status) ? { status } : {}),
    ...(text("from") ? { from: text("from")! } : {}),
    ...(text("to") ? { to: text("to")! } : {}),
    page: Number.isInteger(page) && page > 0 ? page : 1,
  };
}

/** The query string of `query` with `change` applied (links keep the filters). */
function href(query: RunsQuery, change: Partial<RunsQuery>): string {
  const merged = { ...query, ...change };
  const params = new URLSearchParams();
  for (const key of ["pipeline", "status", "from", "to"] as const) if (merged[key]) params.set(key, merged[key]!);
  if (merged.page > 1) params.set("page", String(merged.page));
  const s = params.toString();
  return s ? `/runs?${s}` : "/runs";
}

/** Run history, newest first, PAGE_SIZE a page; the filters are a GET form, so they live in the URL. */
export function runsPage(index: RunIndex, query: RunsQuery, pipelines: readonly string[]): Html {
  const matching = index.list(query);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const page = Math.min(query.page, pages);
  const end = matching.length - (page - 1) * PAGE_SIZE;
  const shown = matching.slice(Math.max(0, end - PAGE_SIZE), end).reverse();
  const body = html`<form method="get" action="/runs" class="filters" id="run-filters">
<label>Pipeline ${select("pipeline", query.pipeline, pipelines)}</label>
<label>Status ${select("status", query.status, STATUSES)}</label>
<label>From (UTC) <input type="datetime-local" name="from" value="${query.from ?? ""}"></label>
<label>To (UTC) <input type="datetime-local" name="to" value="${query.to ?? ""}"></label>
<button type="submit">Filter</button> <a href="/runs">clear</a>
</form>
<p class="muted" id="run-count">${matching.length} runs${pages > 1 ? `, page ${page} of ${pages}` : ""}</p>
<p class="notice" id="new-runs" hidden><a href="${href(query, { page: 1 })}">New runs finished: show them</a></p>
<table class="runs">
<thead><tr><th>Run</th><th>Pipeline</th><th>Status</th><th>Started</th><th>Duration</th><th>Extracted</th><th>Written</th><th>Quarantined</th><th>Dead letters</th><th>Error</th></tr></thead>
<tbody>
${shown.map(
  (r) => html`<tr data-run="${r.run_id}">
<td><a href="${runHref(r.pipeline, r.run_id)}">${r.run_id}</a></td>
<td>${r.pipeline}</td>
<td>${statusBadge(r.status)}</td>
<td>${when(r.started_at)}</td>
<td class="num">${duration(r.duration_ms)}</td>
<td class="num">${r.rows.extracted}</td>
<td class="num">${r.rows.written}</td>
<td class="num">${r.rows.quarantined}</td>
<td class="num">${r.rows.dead_lettered}</td>
<td class="error">${r.error ?? ""}</td>
</tr>`,
)}
</tbody>
</table>
<nav class="pager">
${page > 1 ? html`<a href="${href(query, { page: page - 1 })}">newer</a>` : ""}
${page < pages ? html`<a href="${href(query, { page: page + 1 })}">older</a>` : ""}
</nav>`;
  return layout("Run history", "runs", body);
}
