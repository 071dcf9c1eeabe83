import type { z } from "zod";

type AnySchema = z.core.$ZodType;

/**
 * Finds the object keys a schema accepts at `path` of `data`, following
 * discriminated unions by the data's own `type` value. Used to suggest the
 * right key when a config has an unknown one.
 */
export function keysAt(schema: AnySchema, path: readonly PropertyKey[], data: unknown): string[] {
  let current: AnySchema | undefined = schema;
  let value: unknown = data;
  for (const seg of [...path, null]) {
    current = unwrap(current, value);
    if (!current) return [];
    if (seg === null) break;
    const def = current._zod.def as unknown as Record<string, unknown>;
    value = value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
    if (def.type === "object") current = (def.shape as Record<string, AnySchema>)[String(seg)];
    else if (def.type === "array") current = def.element as AnySchema;
    else if (def.type === "record") current = def.valueType as AnySchema;
    else return [];
  }
  const def = current?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === "object" ? Object.keys(def.shape as object) : [];
}

function unwrap(schema: AnySchema | undefined, value: unknown): AnySchema | undefined {
  let s = schema;
  for (let i = 0; s && i < 20; i++) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault") {
      s = def.innerType as AnySchema;
    } else if (def.type === "pipe") {
      s = def.in as AnySchema;
    } else if (def.type === "union") {
      const options = def.options as AnySchema[];
      const tag = value && typeof value === "object" ? (value as Record<string, unknown>).type : undefined;
      const objects = options
        .map((o) => unwrap(o, value))
        .filter((o): o is AnySchema => {
          const d = o?._zod.def as unknown as Record<string, unknown> | undefined;
          return d?.type === "object";
        });
      const byTag = objects.find((o) => {
        const shape = (o._zod.def as unknown as { shape: Record<string, AnySchema> }).shape;
        const t = shape.type?._zod.def as unknown as { type: string; values?: unknown[] } | undefined;
        return t?.type === "literal" && t.values?.includes(tag);
      });
      return byTag ?? objects[0];
    } else {
      return s;
    }
  }
  return s;
}
