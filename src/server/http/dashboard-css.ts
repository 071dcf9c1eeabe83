/** The dashboard's stylesheet (served as /assets/dashboard.css). */
export const DASHBOARD_CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #24292f; color: #fff; }
header nav { display: flex; gap: 1rem; flex: 1; }
header a { color: #d0d7de; text-decoration: none; }
header a[aria-current="page"] { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
.brand { font-size: 1.1rem; }
.live { font-size: .8rem; color: #ffb3b3; }
.live.on { color: #7ee2a8; }
main { padding: 1rem 1.4rem 3rem; max-width: 1400px; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; padding: .3rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--bg); font-weight: 600; }
table.kv { width: auto; min-width: 18rem; }
table.kv th { font-weight: 500; color: #424a53; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { color: var(--bad); max-width: 28rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
code { font-size: .8rem; word-break: break-all; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .8rem; font-weight: 600; color: #fff; background: var(--muted); }
.badge.succeeded { background: var(--ok); }
.badge.failed { background: var(--bad); }
.badge.validation_failed { background: var(--warn); }
.badge.running { background: #0969da; }
.flag { display: inline-block; margin-right: .3rem; padding: 0 .4rem; border-radius: .3rem; font-size: .8rem; font-weight: 600; }
.flag.failing { background: #ffebe9; color: var(--bad); }
.flag.late { background: #fff8c5; color: var(--warn); }
tr.attention td:first-child { border-left: 4px solid var(--bad); }
.headline { font-size: 1.1rem; font-weight: 600; padding: .6rem .9rem; border-radius: .4rem; }
.headline.ok { background: #dafbe1; color: var(--ok); }
.headline.bad { background: #ffebe9; color: var(--bad); }
svg.spark polyline { fill: none; stroke: #0969da; stroke-width: 1.5; }
form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin-bottom: .6rem; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; color: #424a53; }
button { font: inherit; padding: .2rem .7rem; border: 1px solid var(--line); border-radius: .35rem; background: #fff; cursor: pointer; }
button:hover { background: var(--bg); }
button[disabled] { opacity: .5; cursor: default; }
.notice { background: #ddf4ff; padding: .4rem .7rem; border-radius: .3rem; }
.error-box { border: 1px solid var(--bad); background: #fff5f5; padding: .2rem 1rem .6rem; border-radius: .4rem; }
.error-box pre { white-space: pre-wrap; margin: .3rem 0; }
.hint { color: #424a53; }
.cols { display: flex; gap: 3rem; flex-wrap: wrap; }
.bars { display: grid; gap: .25rem; max-width: 56rem; }
.bar-row { display: grid; grid-template-columns: 9rem 1fr 6rem; gap: .6rem; align-items: center; }
.bar-track { background: var(--bg); height: 1rem; border-radius: .2rem; }
.bar { display: block; height: 100%; background: #54aeff; border-radius: .2rem; min-width: 2px; }
.bar-value { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1rem; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: .4rem; padding: .5rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
.pager { display: flex; gap: 1rem; }
.result { min-height: 1.2rem; }
.result.bad { color: var(--bad); }
.letter-file h2 button { margin-left: .6rem; }
`;
