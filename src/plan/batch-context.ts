import type { ContractSpec, PipelineConfig, SluiceConfig } from "../config/spec.js";
import type { Engine } from "../engine/engine.js";
import type { ReadHints } from "../sources/source.js";
import type { Logger } from "../util/logger.js";
import type { Progress } from "../util/progress.js";

/** Overrides a user gives on the command line for one run (S1 flags). */
export interface RunOptions {
  readonly days?: number;
  readonly full?: boolean;
  readonly incremental?: boolean;
  readonly userId?: string;
  readonly syncDuckdb?: boolean;
}

/**
 * Everything a stage of one run may use. Created by the runner for each
 * attempt; stages never keep it beyond the run.
 */
export interface RunContext {
  readonly runId: string;
  readonly batchId: string;
  readonly pipeline: string;
  readonly config: SluiceConfig;
  readonly pipelineConfig: PipelineConfig;
  /** The resolved contract (named or inline), if any. */
  readonly contract: ContractSpec | undefined;
  readonly engine: Engine;
  /** Absolute lake root. */
  readonly dataDir: string;
  /** Absolute scratch folder of this attempt (`<data_dir>/.tmp/<run_id>`): removed when it ends. */
  readonly scratchDir: string;
  /** Absolute directory of the config file: relative source paths resolve against it. */
  readonly configDir: string;
  /** Absolute path of the default DuckDB warehouse file. */
  readonly warehousePath: string;
  readonly startedAt: Date;
  readonly processingType: "batch" | "streaming";
  readonly options: RunOptions;
  /** The pipeline's committed state (watermark, positions); `{}` on a first run. */
  readonly state: Readonly<Record<string, unknown>>;
  /** What the stages after the source need from the read (contracts/read-hints.ts). */
  readonly readHints: ReadHints;
  /**
   * Finishing an interrupted batch: the state it ends at (e.g. `{ watermark }`). A source reads no
   * further than that, so the batch has the same range (and id) as when it was first read.
   */
  readonly until?: Readonly<Record<string, unknown>>;
  readonly log: Logger;
  readonly progress: Progress;
  /** A fresh relation name for this run, e.g. tmpName("src") -> "src_3". */
  tmpName(prefix: string): string;
}
