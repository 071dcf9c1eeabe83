import { resolve } from "node:path";
import type { SinkConfig } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { compactDelta, isDeltaTable } from "../lake/delta/index.js";
import type { Logger } from "../util/logger.js";

/** Files this large are left as they are: a compaction costs the small files, not the day's data. */
const DONE_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Compacts the Delta tables a stream writes (one file per micro-batch per partition), so the file
 * count stays bounded while it runs, between micro-batches under the pipeline's lock. Each partition
 * with at least `minFiles` files under 64 MiB has those become one file, in one OPTIMIZE commit (rows
 * unchanged, readers see the version before or after); larger files are never rewritten again, so a
 * compaction costs at most what was written since the partition's last 64 MiB. A failure is logged,
 * never the stream's failure: the files stay as they are.
 */
export async function compactLake(
  dataDir: string,
  sinks: readonly SinkConfig[],
  runId: string,
  minFiles: number,
  log: Logger,
): Promise<void> {
  for (const sink of sinks) {
    if (sink.type !== "parquet" || sink.format !== "delta") continue;
    const root = resolve(dataDir, sink.path);
    if (!isDeltaTable(root)) continue;
    const engine = await Engine.open();
    try {
      const result = await compactDelta(engine, root, { minFiles, runId, smallerThan: DONE_FILE_BYTES });
      if (result.filesRemoved > 0) {
        log.info(
          `compacted ${sink.path}: ${result.filesRemoved} files into ${result.filesAdded} (version ${result.version})`,
        );
      }
    } catch (err) {
      log.warn(
        `could not compact ${sink.path} (${err instanceof Error ? err.message : String(err)}); the next compaction tries again`,
      );
    } finally {
      engine.close();
    }
  }
}
