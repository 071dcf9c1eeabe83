/**
 * The stream tests' pipeline `events`: `source` through a contract (id, v, kind), no dedup (a message
 * written twice shows as an extra row), into a Delta table partitioned by kind and a DuckDB table s.events.
 */
export function eventsYaml(source: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: ${source}
    validation: quarantine
    contract:
      columns:
        id: { type: integer, required: true }
        v: { type: integer, required: true }
        kind: { type: string }
    dedup: { strategy: none }
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, format: delta, partition_by: [kind] }
      - { type: duckdb, schema: s, table: events, mode: table }
`;
}
