import { type FileHandle, open } from "node:fs/promises";

const FLUSH_BYTES = 4 << 20;

/** Appends to a new file in large writes. Not safe for concurrent `write` calls: await each one. */
export class BufferedWriter {
  private parts: Buffer[] = [];
  private size = 0;
  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<BufferedWriter> {
    return new BufferedWriter(await open(path, "w"));
  }

  /** Copies the buffers (callers may reuse them) and writes once 4 MB have gathered. */
  async write(...bufs: Buffer[]): Promise<void> {
    for (const b of bufs) {
      this.parts.push(Buffer.from(b));
      this.size += b.length;
    }
    if (this.size >= FLUSH_BYTES) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }

  private async flush(): Promise<void> {
    if (this.size === 0) return;
    await this.fh.write(Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}
