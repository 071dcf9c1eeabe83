import { join } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { BufferedWriter } from "./buffered-writer.js";

/**
 * Collects unparseable records (position, raw text, reason) in a scratch
 * JSONL file, then loads them as the `unparseable` relation
 * (`_source_pos VARCHAR, _raw VARCHAR, _error VARCHAR`) in one read.
 * Memory stays flat however many records are bad.
 */
export class UnparseableFile {
  private count = 0;
  private constructor(
    private readonly path: string,
    private readonly out: BufferedWriter,
  ) {}

  static async create(dir: string): Promise<UnparseableFile> {
    const path = join(dir, "unparseable.jsonl");
    return new UnparseableFile(path, await BufferedWriter.create(path));
  }

  get rows(): number {
    return this.count;
  }

  /** Adds a record; await the promise it may return before the next call. */
  add(sourcePos: string, raw: string, error: string): Promise<void> | undefined {
    this.count++;
    return this.out.write(Buffer.from(`${JSON.stringify({ _source_pos: sourcePos, _raw: raw, _error: error })}\n`));
  }

  /** Closes the file and creates `table` from it (an empty table when nothing was added). */
  async load(engine: Engine, table: string): Promise<void> {
    await this.out.close();
    await engine.run(
      `CREATE TABLE ${table} AS SELECT * FROM read_json(${literal(this.path)}, format = 'newline_delimited',
         records = true, columns = {'_source_pos': 'VARCHAR', '_raw': 'VARCHAR', '_error': 'VARCHAR'})`,
      "extract",
    );
  }
}
