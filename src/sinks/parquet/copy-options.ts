import type { ParquetSinkConfig } from "../../config/spec.js";

const CODECS: Record<ParquetSinkConfig["compression"], string> = {
  snappy: "snappy",
  zstd: "zstd",
  gzip: "gzip",
  none: "uncompressed",
};

/** The option list of a DuckDB `COPY ... TO` for this sink: format, codec, row group size, plus `extra`. */
export function copyOptions(config: ParquetSinkConfig, extra: readonly string[] = []): string {
  const options = ["FORMAT parquet", `COMPRESSION ${CODECS[config.compression]}`];
  if (config.row_group_size) options.push(`ROW_GROUP_SIZE ${config.row_group_size}`);
  return `(${[...options, ...extra].join(", ")})`;
}
