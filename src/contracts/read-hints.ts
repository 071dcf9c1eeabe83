import type { ContractSpec } from "../config/spec.js";
import type { ReadHints } from "../sources/source.js";

/**
 * The read hints a source gets for a pipeline (SourceContext.readHints): what the contract stage
 * needs from the read, given whether transforms run between the source and the contract.
 */
export function readHintsFor(contract: ContractSpec | undefined, transformed: boolean): ReadHints {
  return {
    text: contract !== undefined,
    columns: Object.keys(contract?.columns ?? {}),
    addMissing: contract !== undefined && !transformed,
    allKeys: contract?.extra_columns !== "drop" || transformed,
  };
}
