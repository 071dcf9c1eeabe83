import { resolve } from "node:path";
import type { SinkConfig } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { compactDelta, isDeltaTable } from "../lake/delta/index.js";
import type { Logger } from "../util/logger.js";

/**
 * Compacts the Delta tables a stream writes (one file per micro-batch per partition), so the file
 * count stays bounded while it runs: `sluice compact` is refused while the stream holds the
 * pipeline's lock, so the stream does it itself between micro-batches. Each partition with at least
 * `minFiles` files becomes one file, in one OPTIMIZE commit (rows unchanged, readers see the version
 * before or after). A failure is logged, never the stream's failure: the files stay as they are.
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
      const result = await compactDelta(engine, root, { minFiles, runId });
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
