import { html } from "hono/html";

/**
 * Server-rendered HTML. Every page is built with Hono's `html` tagged template, which escapes each
 * interpolated string (and each string in an interpolated array); only other `html` results pass
 * unescaped. Never build markup by string concatenation of data.
 */
export type Html = ReturnType<typeof html>;

export type NavItem = "home" | "runs" | "charts" | "quarantine" | "deadletter" | "tail";

const NAV: readonly [NavItem, string, string][] = [
  ["home", "/", "Pipelines"],
  ["runs", "/runs", "Runs"],
  ["charts", "/charts", "Charts"],
  ["quarantine", "/quarantine", "Quarantine"],
  ["deadletter", "/deadletter", "Dead letters"],
  ["tail", "/tail", "Live tail"],
];

/** The page shell: navigation, the dashboard's stylesheet and script (both served by the app, no CDN). */
export function layout(title: string, active: NavItem, body: Html, opts: { uplot?: boolean } = {}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · sluice</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${opts.uplot ? html`<link rel="stylesheet" href="/assets/uplot/uPlot.min.css"><script src="/assets/uplot/uPlot.iife.min.js"></script>` : ""}
<script src="/assets/dashboard.js" defer></script>
</head>
<body data-page="${active}">
<header>
<strong class="brand">sluice</strong>
<nav>${NAV.map(([key, href, label]) => html`<a href="${href}"${key === active ? html` aria-current="page"` : ""}>${label}</a>`)}</nav>
<span id="live" class="live" title="server-sent events">offline</span>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

/** `2026-08-03 10:15:02` (UTC), or an em dash. */
export function when(iso: string | undefined): string {
  if (!iso) return "—";
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}

/** `850 ms`, `12.4 s`, `3 min 05 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** `97.5 %` */
export function percent(x: number): string {
  return `${(x * 100).toFixed(x === 0 || x === 1 ? 0 : 1)} %`;
}

export function statusBadge(status: string): Html {
  return html`<span class="badge ${status}">${status.replace("_", " ")}</span>`;
}

/** A `<select>` of `options` with `value` chosen; "" is the "all" choice. */
export function select(name: string, value: string | undefined, options: readonly string[], all = "all"): Html {
  return html`<select name="${name}">
<option value="">${all}</option>
${options.map((o) => html`<option value="${o}"${o === value ? html` selected` : ""}>${o}</option>`)}
</select>`;
}

/** A pipeline chooser for the per-pipeline pages (a GET form, so the choice is in the URL). */
export function pipelineChooser(action: string, pipelines: readonly string[], chosen: string | undefined): Html {
  return html`<form method="get" action="${action}" class="filters">
<label>Pipeline ${select("pipeline", chosen, pipelines, "choose…")}</label>
<button type="submit">Show</button>
</form>`;
}

/** The path of a run's detail page. */
export function runHref(pipeline: string, runId: string): string {
  return `/runs/${encodeURIComponent(pipeline)}/${encodeURIComponent(runId)}`;
}
