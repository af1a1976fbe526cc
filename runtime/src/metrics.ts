import { Counter, Gauge, collectDefaultMetrics, Registry, Metric, MetricObjectWithValues, MetricValue } from 'prom-client';
import { Keyspace } from './keyspace/keyspace';
import { COMMANDS } from './protocol/command-table';
import { LATENCY_BUCKETS, ServerStats } from './protocol/commands';

/**
 * Prometheus metrics. The hot path counts in plain integers (ServerStats,
 * KeyspaceStats); these collect() callbacks publish them when /metrics is
 * scraped, so no prom-client call happens per command.
 */
export function createMetrics(ks: Keyspace, stats: ServerStats, connections: () => number, ready: () => boolean = () => true): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'state_cache_process_' });

  const counter = (name: string, help: string, read: () => number) => new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
  const gauge = (name: string, help: string, read: () => number) => new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });

  new Counter({
    name: 'state_cache_commands_total',
    help: 'Commands processed, by command name.',
    labelNames: ['command'],
    registers: [registry],
    collect() {
      this.reset();
      for (const cmd of COMMANDS) {
        const n = stats.calls[cmd.index];
        if (n > 0) this.inc({ command: cmd.name }, n);
      }
    },
  });
  counter('state_cache_keyspace_hits_total', 'Lookups that found a key.', () => ks.stats.hits);
  counter('state_cache_keyspace_misses_total', 'Lookups that found no key.', () => ks.stats.misses);
  counter('state_cache_evictions_total', 'Entries evicted to make room.', () => ks.stats.evictions);
  counter('state_cache_expirations_total', 'Entries that expired (lifespan or max idle).', () => ks.stats.expirations);
  counter('state_cache_loads_total', 'Entries loaded from persistence on a miss.', () => ks.stats.loads);
  counter('state_cache_connections_received_total', 'RESP connections accepted.', () => stats.connectionsReceived);
  counter('state_cache_connections_rejected_total', 'RESP connections refused (max clients).', () => stats.connectionsRejected);
  counter('state_cache_oom_errors_total', 'Writes refused with the OOM error: memory full under noeviction, or an eviction the stores could not take yet (passivation).', () => stats.oomErrors);
  gauge('state_cache_ready', '1 when /readyz answers 200 (start-up done, required stores reachable, not shutting down), else 0.', () => (ready() ? 1 : 0));
  gauge('state_cache_entries', 'Entries in memory.', () => ks.size);
  gauge('state_cache_bytes', 'Accounted bytes of entries in memory (keys, values, per-entry overhead).', () => ks.usedBytes);
  gauge('state_cache_max_bytes', 'Byte budget of the keyspace.', () => ks.maxBytes);
  gauge('state_cache_connections', 'Open RESP connections.', connections);
  registry.registerMetric(new LatencyHistogram(stats) as unknown as Metric);
  return registry;
}

/** A histogram published from counts the connections keep in a Float64Array. */
class LatencyHistogram {
  readonly name = 'state_cache_command_duration_seconds';
  readonly help = 'Command latency (time to run the commands of a read event, divided among them).';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(private readonly stats: ServerStats) {}

  get(): MetricObjectWithValues<MetricValue<string>> {
    const values: Array<MetricValue<string> & { metricName: string }> = [];
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += this.stats.latencyCounts[i];
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    });
    cumulative += this.stats.latencyCounts[LATENCY_BUCKETS.length];
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.stats.latencySum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: cumulative });
    const metric = { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    return metric as unknown as MetricObjectWithValues<MetricValue<string>>;
  }

  reset(): void {}
}
