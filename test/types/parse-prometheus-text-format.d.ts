// The one function of parse-prometheus-text-format (it ships no types): Prometheus text exposition ->
// metric families, each sample's value as text. Histograms and summaries group their buckets/quantiles.
declare module "parse-prometheus-text-format" {
  export interface PromSample {
    readonly value?: string;
    readonly labels?: Record<string, string>;
    readonly buckets?: Record<string, string>;
    readonly count?: string;
    readonly sum?: string;
  }
  export interface PromFamily {
    readonly name: string;
    readonly help: string;
    readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    readonly metrics: PromSample[];
  }
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
