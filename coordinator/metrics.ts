/**
 * A few Prometheus metrics, rendered in the text exposition format. Hand-written because the
 * set is tiny and a client library would dominate the coordinator's dependency footprint.
 */
type Labels = Record<string, string>;

class Counter {
  private values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) out.push(`${this.name}${k} ${v}`);
    return out;
  }
}

class Histogram {
  private buckets: number[];
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, buckets: number[]) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s!.counts[i]! += 1;
    });
    s.sum += value;
    s.count += 1;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const inner = k ? k.slice(1, -1) + "," : "";
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${inner}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${inner}le="+Inf"} ${s.count}`, `${this.name}_sum${k} ${s.sum}`, `${this.name}_count${k} ${s.count}`);
    }
    return out;
  }
}

function labelKey(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Metrics {
  readonly joins = new Counter("sprout_joins_total", "Join requests by result code");
  readonly joinSeconds = new Histogram("sprout_join_duration_seconds", "Time to answer a join request", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  readonly httpRequests = new Counter("sprout_http_requests_total", "HTTP requests by route and status");
  readonly events = new Counter("sprout_agent_events_total", "Agent events stored, by type");
  readonly rateLimited = new Counter("sprout_rate_limited_total", "Requests refused by the join rate limit");

  render(gauges: Record<string, { help: string; values: [Labels, number][] }>): string {
    const lines = [...this.joins.render(), ...this.joinSeconds.render(), ...this.httpRequests.render(), ...this.events.render(), ...this.rateLimited.render()];
    for (const [name, g] of Object.entries(gauges)) {
      lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      for (const [labels, v] of g.values) lines.push(`${name}${labelKey(labels)} ${v}`);
    }
    return lines.join("\n") + "\n";
  }
}
