#!/usr/bin/env node
// `npm run bench [-- name-filter]`: runs every case in bench/cases/, each measuring sluice
// against a reference measured in the same run (SPEC section 11), prints a table and
// writes bench/out/results.json. Ratios, not absolute times, are what hold on noisy machines.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2);
const order = [
  "generate",
  "parquet-size",
  "validate",
  "jsonl",
  "jsonl-plain",
  "postgres",
  "queries",
  "postgres-memory",
  "delta-merge",
  "delta-open",
  "stream-nats",
  "stream-redis",
  "stream-latency",
  "stream-burst",
];
const files = readdirSync(join(here, "cases"))
  .filter((f) => f.endsWith(".mjs"))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));

function rank(f) {
  const i = order.indexOf(f.replace(/\.mjs$/, ""));
  return i < 0 ? order.length : i;
}

mkdirSync(join(here, "out"), { recursive: true });
const results = [];
for (const f of files) {
  const { default: c } = await import(pathToFileURL(join(here, "cases", f)).href);
  process.stderr.write(`bench: ${c.name} ...\n`);
  try {
    const r = await c.run();
    results.push({ case: f, name: c.name, target: c.target, ...r });
  } catch (err) {
    results.push({ case: f, name: c.name, target: c.target, error: String(err?.stack ?? err), pass: false });
  }
}

const fmt = (x, d = 2) => (typeof x === "number" ? x.toFixed(d) : "-");
const rows = results.map((r) => [
  r.name,
  r.error ? "ERROR" : fmt(r.seconds, 3),
  fmt(r.reference_seconds, 3),
  fmt(r.ratio, 2),
  r.target ?? "",
  r.error ? "error" : r.pass ? "pass" : "MISS",
  r.extra ? JSON.stringify(r.extra) : "",
]);
const head = ["work", "sluice s", "reference s", "ratio", "target", "result", "extra"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join("  ");
console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
for (const r of results) if (r.error) console.log(`\n${r.name}: ${r.error}`);
const out = join(here, "out", "results.json");
writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
console.log(`\nwritten ${out}`);
