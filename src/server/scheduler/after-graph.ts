import type { SluiceConfig } from "../../config/spec.js";
import { ConfigError } from "../../errors.js";

/**
 * `after:` as the scheduler follows it: for each pipeline, the pipelines to start when it succeeds
 * (those listing it in their `after`). Unknown names are the config loader's error; a cycle
 * (a after b after a) is refused here with a ConfigError naming the config file and the cycle.
 */
export function afterGraph(config: SluiceConfig, configPath: string): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const name of Object.keys(config.pipelines)) dependents.set(name, []);
  for (const [name, p] of Object.entries(config.pipelines)) {
    for (const dep of p.after ?? []) dependents.get(dep)?.push(name);
  }
  const cycle = findCycle(dependents);
  if (cycle) {
    throw new ConfigError(
      `${configPath}: pipelines.${cycle[0]}.after: \`after\` forms a cycle: ${cycle.join(" -> ")}`,
      "a pipeline cannot run after itself, directly or through others: remove one of these `after` entries",
    );
  }
  return dependents;
}

/** A cycle in the graph as [a, b, ..., a], or undefined (depth-first search, three colours). */
function findCycle(edges: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === "open") return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of edges.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}
