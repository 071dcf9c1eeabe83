import { closeSync, openSync, rmSync, writevSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { PostgresUrl } from "../../connectors/postgres/connection-url.js";
import { closeSession, openSession } from "../../connectors/postgres/pg-session.js";
import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import { exportSelect } from "./export-query.js";
import type { ColumnTransfer } from "./pg-types.js";
import { checkedConversion, unholdableValueError } from "./unholdable-values.js";

/** A block range of the table (`ctid` pages), exported as one COPY. */
export interface BlockRange {
  readonly from: number;
  /** Exclusive; undefined for the last range (rows in blocks added since are included). */
  readonly to: number | undefined;
}

/** Everything one export needs. */
export interface CopyExportPlan {
  readonly url: PostgresUrl;
  /** Connection holding the export's REPEATABLE READ transaction; stays open (the caller closes it). */
  readonly primary: pg.Client;
  readonly fromSql: string;
  readonly transfers: readonly ColumnTransfer[];
  readonly filters: readonly string[];
  /** Block ranges exported in parallel; undefined exports the whole SELECT in one COPY. */
  readonly ranges: readonly BlockRange[] | undefined;
  /** Exported snapshot id the helper connections join (required with more than one range). */
  readonly snapshot: string | undefined;
  /** Connections used at once (primary included). */
  readonly concurrency: number;
  /** Key columns for `_source_pos` (`id=...`); none: NULL. */
  readonly key: readonly string[];
  readonly tmpDir: string;
  readonly engine: Engine;
  /** Table created in the engine with the rows. */
  readonly relation: string;
  readonly onRows?: (rows: number) => void;
}

/**
 * Exports rows from PostgreSQL into a DuckDB table, with memory flat
 * whatever the table size.
 *
 * How: each block range is `COPY (SELECT ...) TO STDOUT (FORMAT csv)`,
 * streamed with backpressure into a CSV file under the run's temp dir, then
 * loaded with DuckDB's read_csv (explicit column types, NULL = unquoted
 * empty field, `""` = empty string) and deleted. Ranges run on up to
 * `concurrency` connections that share one snapshot, so the rows are one
 * consistent view of the table; DuckDB loads finished ranges while later
 * ones are still being copied. Rows never pass through JavaScript objects.
 *
 * Contract: resolves with the row count once every row PostgreSQL reported
 * (COPY n) is in `relation` — a mismatch is an error; on any failure every
 * helper connection is dropped, temp files are removed, and the first
 * error is thrown (the relation may hold a part: the caller discards the
 * engine's batch on failure).
 */
export async function copyIntoDuckdb(plan: CopyExportPlan): Promise<number> {
  const { engine, relation, transfers } = plan;
  const columns = transfers.map((t) => `${ident(t.name)} ${t.duckType}`);
  await engine.run(`CREATE TABLE ${relation} (${[...columns, "_source_pos VARCHAR"].join(", ")})`, "extract");

  const ranges: (BlockRange | undefined)[] = plan.ranges?.length ? [...plan.ranges] : [undefined];
  const workers = Math.max(1, Math.min(plan.concurrency, ranges.length));
  const helpers: pg.Client[] = [];
  const files = new Set<string>();
  let failure: unknown;
  let copied = 0;
  let reported = 0;
  let loading: Promise<void> = Promise.resolve();
  let pendingLoads = 0;
  let next = 0;

  const names = transfers.map((t) => t.name);
  const csvColumns = `{${transfers.map((t, i) => `${literal(`c${i}`)}: ${literal(t.readType)}`).join(", ")}}`;
  const keyIndex = plan.key.map((k) => transfers.findIndex((t) => t.name === k));
  const sourcePos =
    keyIndex.length && keyIndex.every((i) => i >= 0)
      ? keyIndex.map((i, n) => `${literal(`${n ? "," : ""}${plan.key[n]}=`)} || CAST(c${i} AS VARCHAR)`).join(" || ")
      : "NULL::VARCHAR";
  const select = transfers.map((t, i) => {
    const value = t.checked ? checkedConversion(`c${i}`, t.checked, t.name, sourcePos) : t.duckExpr(`c${i}`);
    return `${value} AS ${ident(t.name)}`;
  });

  const load = (file: string, bytes: number) => {
    pendingLoads++;
    loading = loading.then(async () => {
      try {
        if (failure === undefined && bytes > 0) {
          await engine.run(
            `INSERT INTO ${relation} SELECT ${[...select, `${sourcePos} AS _source_pos`].join(", ")}
               FROM read_csv(${literal(file)}, header = false, auto_detect = false, delim = ',', quote = '"',
                             escape = '"', nullstr = '', allow_quoted_nulls = false, columns = ${csvColumns})`,
            "extract",
          );
        }
      } catch (err) {
        failure ??= unholdableValueError(err, names) ?? err;
      } finally {
        pendingLoads--;
        rmSync(file, { force: true });
        files.delete(file);
      }
    });
  };

  const work = async (client: pg.Client, worker: number) => {
    for (;;) {
      // Bound the files waiting for DuckDB: disk use stays at a few ranges.
      while (pendingLoads > workers + 1 && failure === undefined) await loading;
      // Claim a range only now, after the last await: claims never race past the end.
      if (failure !== undefined || next >= ranges.length) return;
      const index = next++;
      const range = ranges[index];
      const file = join(plan.tmpDir, `pg-export-${worker}-${index}.csv`);
      files.add(file);
      const sql = exportSelect(plan.fromSql, transfers, plan.filters, range);
      const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT WITH (FORMAT csv, HEADER false)`));
      const sink = new CsvFileSink(file, report);
      await pipeline(stream, sink);
      copied += stream.rowCount;
      load(file, sink.bytes);
    }
  };

  const report = (n: number) => {
    reported += n;
    plan.onRows?.(reported);
  };

  try {
    const runners: Promise<void>[] = [];
    runners.push(guard(work(plan.primary, 0)));
    for (let w = 1; w < workers; w++) {
      runners.push(
        guard(
          (async () => {
            if (next >= ranges.length) return;
            const helper = await openHelper(plan, helpers);
            if (!helper) return;
            await work(helper, w);
          })(),
        ),
      );
    }
    await Promise.all(runners);
    await loading;
    if (failure !== undefined) throw failure;
  } catch (err) {
    failure ??= err;
    throw failure;
  } finally {
    await Promise.all(helpers.map((h) => closeSession(h, failure !== undefined)));
    await loading.catch(() => undefined);
    for (const f of files) rmSync(f, { force: true });
  }

  const loaded = await engine.count(relation);
  if (loaded !== copied) {
    throw new SluiceError(`PostgreSQL sent ${copied} rows but ${loaded} were loaded`, {
      component: "source:postgres",
      stage: "extract",
      hint: "a value did not survive the CSV transfer; please report this with the table's column types",
    });
  }
  return loaded;

  async function guard(p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (err) {
      failure ??= err;
      // Stop the others at once: their COPYs would run to the end otherwise.
      for (const h of helpers) void closeSession(h, true);
      void closeSession(plan.primary, true);
    }
  }
}

/**
 * A helper connection inside the primary's snapshot; undefined when the
 * server has no connection to spare (the export continues with fewer).
 */
async function openHelper(plan: CopyExportPlan, helpers: pg.Client[]): Promise<pg.Client | undefined> {
  let client: pg.Client;
  try {
    client = await openSession(plan.url);
  } catch (err) {
    if ((err as { code?: string }).code === "53300") return undefined;
    throw err;
  }
  helpers.push(client);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  await client.query(`SET TRANSACTION SNAPSHOT ${literal(plan.snapshot ?? "")}`);
  return client;
}

/** Bytes gathered before one write: a few large writev calls cost far less CPU than one per socket chunk. */
const BATCH_BYTES = 4 << 20;

/**
 * Writable end of a COPY stream: appends the CSV bytes to `file` in 4 MiB
 * batches (synchronous writev: a page-cache write of that size takes about a
 * millisecond, and fs.WriteStream's one write per chunk cost twice the CPU of
 * the whole COPY), and reports rows (lines) as they pass, for progress.
 * Backpressure holds: the stream accepts a chunk only once the previous
 * batch is written.
 */
class CsvFileSink extends Writable {
  bytes = 0;
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    file: string,
    private readonly onRows: (n: number) => void,
  ) {
    super({ highWaterMark: BATCH_BYTES });
    this.fd = openSync(file, "w");
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    let rows = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
    if (rows) this.onRows(rows);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.bytes += chunk.length;
    try {
      if (this.pendingBytes >= BATCH_BYTES) this.flush();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    try {
      this.flush();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    done(err);
  }

  private flush(): void {
    let buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    while (buffers.length) {
      const written = writevSync(this.fd, buffers);
      buffers = remainder(buffers, written);
    }
  }
}

/** What is left of `buffers` after the first `written` bytes (writev may write less than asked). */
function remainder(buffers: Buffer[], written: number): Buffer[] {
  let left = written;
  let i = 0;
  while (i < buffers.length && left >= buffers[i]!.length) left -= buffers[i++]!.length;
  if (i === buffers.length) return [];
  return [buffers[i]!.subarray(left), ...buffers.slice(i + 1)];
}
