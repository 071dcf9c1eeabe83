import type { Sink, SinkContext, WriteIntent } from "./sink.js";

/** What a sink writes once checked against the delta's basis. */
export interface Aligned {
  readonly relation: string;
  readonly intent: WriteIntent;
}

/**
 * Checks a delta against the sink's own state (see `WriteIntent.basis`). The intent stands when
 * there is no basis, the sink is the basis, it holds the batch already (the write reports `held`),
 * or its last batch is the basis's; otherwise the sink missed a batch (skipped, or added to the
 * pipeline later) and gets the whole dataset as the basis sink holds it, as a `replace`: the
 * sinks agree again after this batch.
 */
export async function alignToBasis(
  sink: Pick<Sink, "name" | "holds" | "head">,
  ctx: SinkContext,
  relation: string,
  intent: WriteIntent,
): Promise<Aligned> {
  const { basis } = intent;
  if (!basis || !sink.head || basis.sink === sink.name || intent.extent === "replace") return { relation, intent };
  if (await sink.holds(ctx, intent.batchId)) return { relation, intent };
  const head = await sink.head(ctx);
  if (head === basis.head) return { relation, intent };
  const full = await basis.full();
  ctx.log.warn(
    `${sink.name} last holds batch ${head ?? "(none)"}, ${basis.sink} held ${basis.head ?? "(none)"}: ${sink.name} takes the whole dataset from ${basis.sink} instead of the delta`,
  );
  const { staged: _staged, basis: _basis, key: _key, ...rest } = intent;
  return { relation: full ?? relation, intent: { ...rest, extent: "replace" } };
}
