// Prometheus exposition: kube-proxy's metric names, and per-service counters read from a fake
// stats reader (the kernel map is not needed to test the metric code).
import { afterEach, describe, expect, it } from 'vitest';
import type { Stats } from '../../src/abi/index.js';
import { AgentMetrics, metricsServer, type ServiceLabelInfo } from '../../src/agent/metrics.js';
import { percpuStatsReader, sumStats } from '../../src/dataplane/stats.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const st = (packets: number, bytes: number, newFlows: number, noBackend: number): Stats => ({
  packets: BigInt(packets),
  bytes: BigInt(bytes),
  newFlows: BigInt(newFlows),
  noBackend: BigInt(noBackend),
});

const services = new Map<number, ServiceLabelInfo>([
  [1, { namespace: 'default', name: 'web', portName: 'http', port: 80, protocol: 'TCP' }],
  [2, { namespace: 'kube-system', name: 'kube-dns', portName: '', port: 53, protocol: 'UDP' }],
]);

/** The value of one sample line, e.g. value(text, 'x_total{a="b"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('stats reading', () => {
  it('sums the per-CPU values and reads only the ids asked for', () => {
    expect(sumStats([st(1, 100, 1, 0), st(2, 200, 0, 3)])).toEqual(st(3, 300, 1, 3));
    const asked: number[] = [];
    const reader = percpuStatsReader({
      get: (id) => {
        asked.push(id);
        return id === 9 ? undefined : [st(id, 10 * id, 1, 0), st(1, 1, 0, 0)];
      },
    });
    expect(reader([1, 9])).toEqual(new Map([[1, st(2, 11, 1, 0)]]));
    expect(asked).toEqual([1, 9]);
  });
});

describe('AgentMetrics', () => {
  it("exposes kube-proxy's sync metrics", async () => {
    let now = 1_700_000_000_000;
    const m = new AgentMetrics({ processMetrics: false, now: () => now, failedSyncs: () => 2 });
    now += 1000;
    m.queued();
    m.synced(12.5, [], 7);
    const text = await m.scrape();
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'kubeproxy_network_programming_duration_seconds',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    ])
      expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram');
    expect(text).toContain('# TYPE kubeproxy_network_programming_duration_seconds histogram');
    expect(text).toContain('# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge');
    expect(value(text, 'kubeproxy_sync_proxy_rules_duration_seconds_count')).toBe(1);
    expect(value(text, 'kubeproxy_sync_proxy_rules_duration_seconds_sum')).toBeCloseTo(0.0125);
    expect(value(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.016"}')).toBe(1);
    expect(value(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.008"}')).toBe(0);
    expect(value(text, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')).toBe(now / 1000);
    expect(value(text, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds')).toBe(now / 1000);
    expect(value(text, 'switchyard_sync_failures_total')).toBe(2);
    expect(value(text, 'switchyard_service_ports')).toBe(7);
  });

  it('observes each EndpointSlice trigger time once, and none from before the agent started', async () => {
    const start = 1_700_000_000_000;
    let now = start;
    const m = new AgentMetrics({ processMetrics: false, now: () => now });
    const old = new Date(start - 60_000);
    const a = new Date(start + 1_000);
    now = start + 3_000;
    m.synced(1, [old, a]);
    const b = new Date(start + 4_000);
    now = start + 4_500;
    m.synced(1, [old, a, b]); // a was applied by the previous sync: not again
    m.synced(1, [old, a, b]);
    const text = await m.scrape();
    expect(value(text, 'kubeproxy_network_programming_duration_seconds_count')).toBe(2);
    expect(value(text, 'kubeproxy_network_programming_duration_seconds_sum')).toBeCloseTo(2 + 0.5);
    expect(value(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="0.5"}')).toBe(1);
    expect(value(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="2"}')).toBe(2);
  });

  it('reads per-service counters at scrape time, labelled {namespace, service, port, protocol}', async () => {
    const reads: number[][] = [];
    let packets = 10;
    const m = new AgentMetrics({
      processMetrics: false,
      services: () => services,
      stats: (ids) => {
        reads.push([...ids]);
        return new Map([
          [1, st(packets, 1500 * packets, 3, 0)],
          [2, st(4, 256, 4, 1)],
          [99, st(1, 1, 1, 1)],
        ]);
      },
    });
    let text = await m.scrape();
    expect(reads).toEqual([[1, 2]]); // only svc ids of the desired state
    expect(text).toContain('# TYPE switchyard_service_packets_total counter');
    const web = '{namespace="default",service="web",port="http",protocol="TCP"}';
    const dns = '{namespace="kube-system",service="kube-dns",port="53",protocol="UDP"}';
    expect(value(text, `switchyard_service_packets_total${web}`)).toBe(10);
    expect(value(text, `switchyard_service_bytes_total${web}`)).toBe(15000);
    expect(value(text, `switchyard_service_new_connections_total${web}`)).toBe(3);
    expect(value(text, `switchyard_service_no_endpoint_rejects_total${web}`)).toBe(0);
    expect(value(text, `switchyard_service_no_endpoint_rejects_total${dns}`)).toBe(1);
    expect(text).not.toContain('99');

    packets = 25; // the kernel counted more: the next scrape shows the new totals, not a sum
    text = await m.scrape();
    expect(value(text, `switchyard_service_packets_total${web}`)).toBe(25);
  });

  it('drops the series of a service that went away', async () => {
    let current: Map<number, ServiceLabelInfo> = services;
    const m = new AgentMetrics({
      processMetrics: false,
      services: () => current,
      stats: () =>
        new Map([
          [1, st(1, 1, 1, 1)],
          [2, st(2, 2, 2, 2)],
        ]),
    });
    expect(await m.scrape()).toContain('service="kube-dns"');
    current = new Map([...services].filter(([id]) => id === 1));
    expect(await m.scrape()).not.toContain('service="kube-dns"');
  });

  it('has no per-service samples before the maps are open', async () => {
    const m = new AgentMetrics({ processMetrics: false, services: () => services });
    expect(await m.scrape()).not.toMatch(/^switchyard_service_packets_total\{/m);
    m.setStatsReader(() => new Map([[1, st(5, 5, 5, 5)]]));
    expect(await m.scrape()).toMatch(/^switchyard_service_packets_total\{.*service="web".*\} 5$/m);
  });

  it('includes process metrics by default', async () => {
    expect(await new AgentMetrics().scrape()).toContain('process_cpu_seconds_total');
  });
});

describe('metrics server', () => {
  it('serves /metrics in the Prometheus text format', async () => {
    const m = new AgentMetrics({
      processMetrics: false,
      services: () => services,
      stats: () => new Map([[1, st(7, 7, 7, 7)]]),
    });
    m.synced(3, []);
    const srv = metricsServer({ host: '127.0.0.1', port: 0 }, m);
    await srv.start();
    cleanup.push(() => srv.stop());
    const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_count 1');
    expect(
      value(text, 'switchyard_service_packets_total{namespace="default",service="web",port="http",protocol="TCP"}'),
    ).toBe(7);
    expect((await fetch(`http://127.0.0.1:${srv.port}/`)).status).toBe(404);
  });

  it('answers /proxyMode with its mode, as kube-proxy does on its metrics address', async () => {
    const srv = metricsServer({ host: '127.0.0.1', port: 0 }, new AgentMetrics({ processMetrics: false }));
    await srv.start();
    cleanup.push(() => srv.stop());
    const res = await fetch(`http://127.0.0.1:${srv.port}/proxyMode`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ebpf');
  });
});

describe('refused external addresses', () => {
  it("counts the last sync's refusals per Service and field, and forgets those no longer refused", async () => {
    const m = new AgentMetrics({ processMetrics: false });
    m.refusedAddresses([
      { namespace: 'default', name: 'hijack', field: 'spec.externalIPs[0]' },
      { namespace: 'default', name: 'hijack', field: 'spec.externalIPs[2]' },
    ]);
    let text = await m.scrape();
    expect(
      value(
        text,
        'switchyard_refused_external_addresses{namespace="default",service="hijack",field="spec.externalIPs[2]"}',
      ),
    ).toBe(1);
    m.refusedAddresses([]);
    text = await m.scrape();
    expect(text).not.toContain('service="hijack"');
  });
});
