/**
 * The dashboard's browser script (served as /assets/dashboard.js): plain JavaScript, no build step.
 * It only reads data through the JSON API and writes text with textContent (never innerHTML of data).
 * - every page: subscribes to /events (server-sent events) and shows whether it is connected;
 * - home: a run starting/progressing updates the pipeline's row; a run ending reloads the page;
 * - run history: a run ending shows a "new runs" link (the page is not reloaded under the reader);
 * - charts: fetches /api/pipelines/<name>/series and draws each chart with uPlot, again on run end;
 * - buttons: "Run now" and "Replay" POST with the X-Sluice-Request header (see access-control.ts);
 * - live tail: an EventSource on /api/pipelines/<name>/tail appending rows (the newest 500 kept).
 */
export const CLIENT_SCRIPT = String.raw`(() => {
"use strict";
const page = document.body.dataset.page;
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
let reloadTimer;
const reloadSoon = () => { clearTimeout(reloadTimer); reloadTimer = setTimeout(() => location.reload(), 400); };

async function post(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-sluice-request": "1" },
    body: JSON.stringify(body ?? {}),
  });
  const data = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function say(target, text, bad) {
  if (!target) return;
  target.textContent = text;
  target.classList.toggle("bad", !!bad);
}

// ---------------------------------------------------------------- live updates
const live = $("#live");
const events = new EventSource("/events");
events.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
events.onerror = () => { live.textContent = "reconnecting…"; live.classList.remove("on"); };
events.onmessage = (m) => {
  let e;
  try { e = JSON.parse(m.data); } catch { return; }
  document.dispatchEvent(new CustomEvent("sluice", { detail: e }));
  const row = $$("[data-pipeline-row]").find((r) => r.dataset.pipelineRow === e.pipeline);
  if (page === "home" && row) {
    const cell = $("[data-status]", row);
    if (e.type === "run-started") cell.textContent = "running (" + e.trigger + ")";
    else if (e.type === "run-progress") cell.textContent = "running: " + e.message;
    else if (e.type === "run-ended" || e.type === "worker") reloadSoon();
  }
  if (page === "runs" && e.type === "run-ended") { const n = $("#new-runs"); if (n) n.hidden = false; }
  if (page === "charts" && e.type === "run-ended") { const c = $("[data-charts]"); if (c && c.dataset.charts === e.pipeline) drawCharts(c); }
};

// ---------------------------------------------------------------- buttons
document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-run-now], button[data-replay], button[data-replay-deadletter]");
  if (!b) return;
  const result = $("[data-result]") || b.parentElement;
  b.disabled = true;
  try {
    if (b.dataset.runNow) {
      const r = await post("/api/pipelines/" + encodeURIComponent(b.dataset.runNow) + "/run");
      b.textContent = r.started ? "Started" : "Busy";
      b.title = r.refused || "";
    } else if (b.dataset.replay) {
      say(result, "replaying " + b.dataset.run + "…");
      const r = await post("/api/pipelines/" + encodeURIComponent(b.dataset.replay) + "/replay", { run: b.dataset.run });
      say(result, r.message, !r.ok);
      if (r.ok) reloadSoon();
    } else {
      say(result, "replaying " + b.dataset.file + "…");
      const r = await post("/api/pipelines/" + encodeURIComponent(b.dataset.replayDeadletter) + "/replay-deadletter", { file: b.dataset.file });
      say(result, r.message, !r.ok);
      if (r.ok) reloadSoon();
    }
  } catch (err) {
    say(result, String(err.message || err), true);
  } finally {
    setTimeout(() => { b.disabled = false; }, 1500);
  }
});

// ---------------------------------------------------------------- charts
const charts = [];
async function drawCharts(box) {
  const res = await fetch("/api/pipelines/" + encodeURIComponent(box.dataset.charts) + "/series");
  if (!res.ok) return;
  const s = await res.json();
  for (const c of charts.splice(0)) c.destroy();
  const pct = (u, v) => v.map((x) => x == null ? "" : (x * 100).toFixed(0) + " %");
  const defs = {
    rows: [["extracted", s.rows.extracted], ["valid", s.rows.valid], ["quarantined", s.rows.quarantined], ["written", s.rows.written]],
    duration: [["seconds", s.duration_s]],
    pass_rate: [["pass rate", s.pass_rate]],
    duplicate_rate: [["duplicate rate", s.duplicate_rate]],
    null_rate: Object.entries(s.null_rate),
  };
  const colors = ["#0969da", "#1a7f37", "#cf222e", "#8250df", "#9a6700", "#bf3989", "#1b7c83", "#6e7781"];
  for (const el of $$("[data-chart]", box)) {
    const kind = el.dataset.chart;
    const series = defs[kind] || [];
    el.textContent = "";
    if (s.t.length === 0 || series.length === 0) { el.textContent = "no runs to chart"; continue; }
    const rate = kind.endsWith("_rate");
    const opts = {
      width: Math.max(320, el.clientWidth || 540),
      height: 220,
      series: [{}].concat(series.map(([label], i) => ({ label, stroke: colors[i % colors.length], width: 1.5, points: { show: s.t.length < 60 } }))),
      axes: [{}, rate ? { values: pct } : {}],
      scales: kind === "pass_rate" ? { y: { range: [0, 1] } } : rate ? { y: { range: (u, lo, hi) => [0, Math.max(hi * 1.15, 0.01)] } } : {},
    };
    charts.push(new uPlot(opts, [s.t].concat(series.map(([, v]) => v)), el));
  }
}
if (page === "charts") { const box = $("[data-charts]"); if (box && window.uPlot) drawCharts(box); }

// ---------------------------------------------------------------- live tail
const tail = $("[data-tail]");
if (tail) {
  const status = $("[data-tail-status]");
  const body = $("tbody", tail);
  const where = tail.dataset.where;
  const src = new EventSource("/api/pipelines/" + encodeURIComponent(tail.dataset.tail) + "/tail" + (where ? "?where=" + encodeURIComponent(where) : ""));
  let shown = 0;
  src.onopen = () => say(status, "waiting for micro-batches…");
  src.addEventListener("row", (m) => {
    const row = JSON.parse(m.data);
    const { _verdict, _reason, _source_pos, ...rest } = row;
    const tr = document.createElement("tr");
    for (const text of [_verdict ?? "?", _source_pos ?? "", JSON.stringify(rest), _reason ?? ""]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.appendChild(td);
    }
    body.prepend(tr);
    while (body.rows.length > 500) body.deleteRow(-1);
    say(status, ++shown + " rows shown");
  });
  src.addEventListener("tail-error", (m) => { say(status, JSON.parse(m.data).message, true); src.close(); });
}
})();
`;
