// Peak memory of the PostgreSQL export (SPEC section 11: flat, 10M rows within 1.2x the peak of 1M rows).
// The S1 pipeline (COPY -> strict contract -> merge dedup -> Snappy Parquet -> DuckDB table with indexes)
// runs through the CLI over a 1M-row and a 10M-row table, with `engine.memory_limit` bounding DuckDB; the
// child's peak RSS comes from /usr/bin/time -v. Tables are generated and loaded once (schema sluice_bench;
// the 10M load takes a few minutes the first time), then reused.
import { rmSync } from "node:fs";
import { benchPostgres, ensureEventsTable, query, runSluice, s1Project } from "./postgres.mjs";

const SMALL = 1_000_000;
const LARGE = 10_000_000;
const MEMORY_LIMIT = process.env.SLUICE_BENCH_MEMORY_LIMIT ?? "1GB";
const TARGET = 1.2;

export default {
  name: "PostgreSQL export peak memory, 10M vs 1M rows",
  target: `10M peak <= ${TARGET}x 1M peak (memory_limit ${MEMORY_LIMIT})`,
  async run() {
    const server = await benchPostgres();
    const dirs = [];
    try {
      await ensureEventsTable(server.url, "BehavioralEvent", SMALL);
      await ensureEventsTable(server.url, "BehavioralEvent10M", LARGE);
      await query(server.url, `VACUUM ANALYZE "sluice_bench"."BehavioralEvent10M"`);
      const measure = async (table, rows) => {
        const dir = s1Project(server.url, table, (c) => {
          c.engine = { memory_limit: MEMORY_LIMIT };
        });
        dirs.push(dir);
        const r = await runSluice(dir, []);
        if (r.record.rows.written !== rows) throw new Error(`${table}: wrote ${r.record.rows.written} rows`);
        return r;
      };
      const small = await measure("BehavioralEvent", SMALL);
      const large = await measure("BehavioralEvent10M", LARGE);
      const ratio = large.peakRssMb / small.peakRssMb;
      return {
        seconds: large.seconds,
        reference_seconds: small.seconds,
        ratio,
        pass: ratio <= TARGET,
        extra: {
          peak_rss_mb_1m: small.peakRssMb,
          peak_rss_mb_10m: large.peakRssMb,
          memory_limit: MEMORY_LIMIT,
          stages_ms_10m: large.record.durations_ms,
        },
      };
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await server.stop();
    }
  },
};
