import type { SluiceConfig } from "./spec.js";

/**
 * `after:` as the scheduler follows it: for each pipeline, the pipelines to start when it succeeds
 * (those listing it in their `after`). Unknown names are left out (the loader reports them).
 */
export function afterDependents(config: SluiceConfig): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const name of Object.keys(config.pipelines)) dependents.set(name, []);
  for (const [name, p] of Object.entries(config.pipelines)) {
    for (const dep of p.after ?? []) dependents.get(dep)?.push(name);
  }
  return dependents;
}

/** A cycle of `after:` (a after b after a) as [a, b, ..., a], or undefined; the loader refuses one. */
export function afterCycle(config: SluiceConfig): string[] | undefined {
  return findCycle(afterDependents(config));
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
