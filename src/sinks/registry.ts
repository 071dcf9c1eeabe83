import type { SinkConfig } from "../config/spec.js";
import { ConfigError } from "../errors.js";
import { DuckdbSink } from "./duckdb/duckdb-sink.js";
import { ParquetSink } from "./parquet/parquet-sink.js";
import type { Sink } from "./sink.js";

/** Builds the sink a config selects by `type`. A new sink adds one line here. */
export function createSink(config: SinkConfig): Sink {
  switch (config.type) {
    case "parquet":
      return new ParquetSink(config);
    case "duckdb":
      return new DuckdbSink(config);
    default:
      throw new ConfigError(`sink type \`${config.type}\` is not available for batch runs yet`);
  }
}
