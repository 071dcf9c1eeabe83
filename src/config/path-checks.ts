import { escapeProblem, segmentProblem } from "../util/confine.js";
import type { SluiceConfig } from "./spec.js";

/**
 * Names and paths that would take an output outside data_dir (SPEC section 8: paths never leave
 * it): pipeline names and parquet `dataset` stems become path segments; relative sink paths must
 * resolve below data_dir. Each problem is reported at its place in the config.
 */
export function pathProblems(config: SluiceConfig): { at: PropertyKey[]; message: string }[] {
  const out: { at: PropertyKey[]; message: string }[] = [];
  for (const [name, p] of Object.entries(config.pipelines)) {
    const bad = segmentProblem(name);
    if (bad) out.push({ at: ["pipelines", name], message: `pipeline name ${bad}` });
    p.sinks.forEach((sink, i) => {
      if (sink.type !== "parquet") return;
      const outside = escapeProblem(sink.path);
      if (outside) out.push({ at: ["pipelines", name, "sinks", i, "path"], message: outside });
      const stem = sink.dataset === undefined ? undefined : segmentProblem(sink.dataset);
      if (stem) out.push({ at: ["pipelines", name, "sinks", i, "dataset"], message: `dataset ${stem}` });
    });
  }
  return out;
}
