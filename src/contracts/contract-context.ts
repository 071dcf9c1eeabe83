import type { ContractSpec, PipelineConfig } from "../config/spec.js";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../util/logger.js";

/**
 * What the contract stage (validateBatch, stageQuarantine) may use of the run; the driver's context
 * satisfies it, tests build it with test/support/run-context.ts.
 */
export interface ContractContext {
  readonly runId: string;
  readonly pipeline: string;
  readonly engine: Engine;
  /** Absolute lake root (the strict report goes under `reports/`). */
  readonly dataDir: string;
  /** Absolute scratch folder of this attempt: the quarantine file is staged there. */
  readonly scratchDir: string;
  /** The run's start: "now" of the contract's relative bounds. */
  readonly startedAt: Date;
  /** The resolved contract (named or inline), if any. */
  readonly contract: ContractSpec | undefined;
  /**
   * The stage's config slice: the validation mode, the contract's name, the transforms (PII
   * protection of the raw text it keeps) and dedup (`unique` on a merge/eager key is dedup's job).
   */
  readonly pipelineConfig: Pick<PipelineConfig, "validation" | "contract" | "transforms" | "dedup">;
  readonly log: Logger;
  /** A fresh relation name, e.g. tmpName("valid") -> "valid_3". */
  tmpName(prefix: string): string;
}
