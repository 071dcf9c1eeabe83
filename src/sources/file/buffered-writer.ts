import { type FileHandle, open } from "node:fs/promises";

const FLUSH_BYTES = 4 << 20;

/** Appends to a new file in large writes, in call order. */
export class BufferedWriter {
  private parts: Buffer[] = [];
  private size = 0;
  private written: Promise<void> = Promise.resolve();
  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<BufferedWriter> {
    return new BufferedWriter(await open(path, "w"));
  }

  /**
   * Copies the buffers (callers may reuse them); once 4 MB have gathered,
   * starts writing them and returns the promise of the writes so far, which
   * callers should await to keep memory bounded. Returns undefined when
   * nothing was written.
   */
  write(...bufs: Buffer[]): Promise<void> | undefined {
    for (const b of bufs) {
      this.parts.push(Buffer.from(b));
      this.size += b.length;
    }
    return this.size >= FLUSH_BYTES ? this.flush() : undefined;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }

  private flush(): Promise<void> {
    if (this.size > 0) {
      const data = Buffer.concat(this.parts, this.size);
      this.parts = [];
      this.size = 0;
      this.written = this.written.then(async () => {
        await this.fh.write(data);
      });
    }
    return this.written;
  }
}
