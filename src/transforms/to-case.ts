/**
 * Column name case conversion for the `rename` transform.
 *
 * Words are split at `_`, `-`, spaces, lower->upper steps (userId -> user|Id)
 * and at the end of an acronym (HTTPStatus -> HTTP|Status); digits stay with
 * the word before them (utm2Source -> utm2|Source). Names starting with `_`
 * (sluice's own columns and markers) are never converted.
 */
export function toCase(name: string, target: "snake_case" | "camelCase"): string {
  if (name.startsWith("_")) return name;
  const words = splitWords(name);
  if (words.length === 0) return name;
  if (target === "snake_case") return words.map((w) => w.toLowerCase()).join("_");
  return words
    .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join("");
}

function splitWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_\-.]+/)
    .filter((w) => w.length > 0);
}
