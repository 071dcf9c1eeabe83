import type { DedupConfig, SinkConfig } from "../config/spec.js";
import { ConfigError } from "../errors.js";
import { natsSink, redisStreamSink } from "./broker-publish/publish-sink.js";
import { DuckdbSink } from "./duckdb/duckdb-sink.js";
import { ParquetSink } from "./parquet/parquet-sink.js";
import { PostgresSink } from "./postgres/postgres-sink.js";
import type { Sink } from "./sink.js";

/**
 * Builds the sink a config selects by `type`. A new sink adds one line here. `dedup`: the sink's
 * effective strategy (its own, else the pipeline's), for sinks whose defaults follow it.
 */
export function createSink(config: SinkConfig, dedup?: DedupConfig): Sink {
  switch (config.type) {
    case "parquet":
      return new ParquetSink(config);
    case "duckdb":
      return new DuckdbSink(config);
    case "nats":
      return natsSink(config);
    case "redis_stream":
      return redisStreamSink(config);
    case "postgres":
      return new PostgresSink(config, dedup);
    default:
      throw new ConfigError(`sink type \`${(config as { type: string }).type}\` is not available for batch runs yet`);
  }
}
