import { SluiceError } from "../../errors.js";

/** A SluiceError of the Delta reader: component "delta", the stage it failed in, and what to do. */
export function deltaError(message: string, hint: string, stage = "read", cause?: unknown): SluiceError {
  return new SluiceError(message, { component: "delta", stage, hint, cause });
}
