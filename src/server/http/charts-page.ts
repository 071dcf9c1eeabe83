import { html } from "hono/html";
import { type Html, layout, pipelineChooser } from "./layout.js";

/** The charts of one pipeline; each `[data-chart]` is drawn by the dashboard script with uPlot. */
const CHARTS: readonly [kind: string, title: string][] = [
  ["rows", "Rows per run"],
  ["duration", "Duration (s)"],
  ["pass_rate", "Validation pass rate"],
  ["duplicate_rate", "Duplicate rate"],
  ["null_rate", "Null rate per column"],
];

/**
 * Charts over time of one pipeline. The page holds empty chart boxes; the script fetches
 * `/api/pipelines/<name>/series` and draws them (and again when one of its runs ends).
 */
export function chartsPage(pipelines: readonly string[], chosen: string | undefined): Html {
  const body = html`${pipelineChooser("/charts", pipelines, chosen)}
${
  chosen
    ? html`<div class="charts" data-charts="${chosen}">${CHARTS.map(
        ([kind, title]) =>
          html`<figure class="chart"><figcaption>${title}</figcaption><div data-chart="${kind}"></div></figure>`,
      )}</div>`
    : html`<p class="muted">Choose a pipeline.</p>`
}`;
  return layout(chosen ? `Charts: ${chosen}` : "Charts", "charts", body, { uplot: true });
}
