import { suggest } from "../../config/suggest.js";
import { ConfigError } from "../../errors.js";
import { behavioralEvents } from "./behavioral-events.js";
import { customerEvents } from "./customer-events.js";
import type { Dataset } from "./dataset.js";
import { pubsub } from "./pubsub.js";
import { transactions } from "./transactions.js";

/** The built-in datasets by name (`sluice generate DATASET`, `source: { type: generate, dataset }`). */
export const DATASETS: Readonly<Record<string, Dataset>> = {
  behavioral_events: behavioralEvents,
  transactions,
  pubsub,
  customer_events: customerEvents,
};

export const DATASET_NAMES: readonly string[] = Object.keys(DATASETS);

/** The dataset called `name`; ConfigError (exit 2) with a did-you-mean otherwise. */
export function datasetNamed(name: string): Dataset {
  const dataset = DATASETS[name];
  if (dataset) return dataset;
  const guess = suggest(name, DATASET_NAMES);
  throw new ConfigError(
    `unknown dataset \`${name}\`${guess ? `; did you mean \`${guess}\`?` : ""}`,
    `datasets: ${DATASET_NAMES.join(", ")}`,
  );
}
