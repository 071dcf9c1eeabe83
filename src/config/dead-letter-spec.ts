import { z } from "zod";

/**
 * A pipeline's `dead_letter:`: besides `deadletter/<pipeline>/<batch_id>.rows.parquet`, each
 * dead-lettered row is published to a broker with its error (runner/publish-dead-letter-broker.ts).
 */
export const deadLetterSpec = z
  .strictObject({
    to: z
      .string()
      .regex(/^(nats|redis|rediss):\/\//i, "expected nats://host:4222/<subject> or redis://host:6379/<stream key>")
      .describe(
        "nats://[user:pass@]host:4222/<subject>[?stream=NAME] (the record as the JSON body, headers Sluice-Error, Sluice-Stage, Sluice-Batch-Id, Sluice-Pipeline, Sluice-Source-Pos) or redis://[user:pass@]host:6379/<stream key>[?db=N] (fields data, error, stage, batch_id, pipeline, source_pos): each dead letter published once, with the batch's commit.",
      ),
  })
  .describe("Where dead letters go besides the Parquet file under deadletter/<pipeline>/.");

export type DeadLetterConfig = z.infer<typeof deadLetterSpec>;
