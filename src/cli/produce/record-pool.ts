import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { generationQuery, withPositions } from "../../sources/generate/generate-dataset.js";
import type { GenerateOptions } from "../../sources/generate/generation-plan.js";
import { removeQuietly } from "../../util/atomic.js";
import { readLines } from "../../util/read-lines.js";

/** One generated record: its JSON text and the value of the dataset's key column. */
export interface PoolRecord {
  readonly line: string;
  readonly key: string;
}

/** Rows generated per chunk: a pause of a fraction of a second, tens of MiB at most. */
export const POOL_CHUNK_ROWS = 50_000;

/**
 * The records a producer sends, made by the dataset generator in chunks of at most
 * POOL_CHUNK_ROWS rows. Contract: chunk k uses seed `seed + k * 7919`, so keys do not repeat
 * across chunks (no chaos is injected: duplicates and disorder are the producer's own); its
 * timestamps end `(rows / rate)` seconds after the chunk was made and span that long, so at the
 * configured rate they follow the wall clock. Each record is the row as DuckDB's JSON writer
 * makes it (ISO-8601 timestamps), as `sluice generate --out FILE.jsonl` writes it.
 */
export class RecordPool {
  private chunk = 0;

  constructor(
    private readonly engine: Engine,
    private readonly dataset: string,
    private readonly seed: number,
    private readonly ratePerSecond: number,
  ) {}

  /** The key column of the dataset (`id`, `transaction_id` ...). */
  keyColumn(): string {
    return generationQuery({ dataset: this.dataset, rows: 0 }).dataset.key;
  }

  /** Generates the next `rows` records (1 ≤ rows ≤ POOL_CHUNK_ROWS), in timestamp order. */
  async next(rows: number): Promise<PoolRecord[]> {
    const seconds = Math.max(rows / this.ratePerSecond, 1);
    const options: GenerateOptions = {
      dataset: this.dataset,
      rows,
      seed: this.seed + this.chunk * 7919,
      anchor: new Date(Date.now() + seconds * 1000).toISOString(),
      days: seconds / 86_400,
    };
    this.chunk++;
    const probe = generationQuery(options);
    const key = probe.dataset.key;
    const dir = mkdtempSync(join(tmpdir(), "sluice-produce-"));
    try {
      const file = join(dir, "pool.jsonl");
      await withPositions(this.engine, rows, "_sluice_produce_positions", async (positions) => {
        const query = generationQuery(options, { positions, isoTimestamps: true });
        await this.engine.run(`COPY (${query.sql}) TO ${literal(file)} (FORMAT json)`, "generate");
      });
      const records: PoolRecord[] = [];
      for await (const line of readLines(file)) {
        records.push({ line, key: String((JSON.parse(line) as Record<string, unknown>)[key]) });
      }
      return records;
    } finally {
      removeQuietly(dir);
    }
  }
}
