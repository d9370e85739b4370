// Run-time map sizes from the agent's flags (src/agent/map-sizes.ts).
import { describe, expect, it } from 'vitest';
import { LIMIT_TABLE_MAX, LIMIT_TABLE_MIN, mapSizes, parseEntries, parseRatio } from '../../src/agent/map-sizes.js';
import { resolveAgentConfig } from '../../src/agent/config.js';

describe('map sizes', () => {
  it('leaves every map at its compiled size without flags', () => {
    expect(mapSizes({})).toEqual({});
  });

  it('sizes the load-balancing maps from --bpf-lb-map-max, backends and slots 4×', () => {
    expect(mapSizes({ bpfLbMapMax: 100 })).toEqual({
      ...{ frontends: 100, affinity: 100, backends: 400, slots: 400 },
      ...{ frontends6: 100, affinity6: 100, backends6: 400 },
    });
  });

  it('sizes conntrack and affinity from a share of memory, explicit flags winning, clamped', () => {
    const gib = 2 ** 30;
    const r = mapSizes({ bpfMapDynamicSizeRatio: 0.01 }, 8 * gib);
    expect(r.conntrack).toBeGreaterThan(r.affinity!);
    expect(r.conntrack).toBeLessThan((0.01 * 8 * gib) / 48);
    expect(mapSizes({ bpfMapDynamicSizeRatio: 0.01, bpfCtGlobalMax: 5000, bpfLbMapMax: 10 }, 8 * gib)).toMatchObject({
      conntrack: 5000,
      affinity: 10,
    });
    expect(mapSizes({ bpfMapDynamicSizeRatio: 1e-9 }, gib)).toMatchObject({
      conntrack: LIMIT_TABLE_MIN,
      affinity: LIMIT_TABLE_MIN,
    });
    expect(mapSizes({ bpfMapDynamicSizeRatio: 1 }, 1024 * gib)).toMatchObject({ conntrack: LIMIT_TABLE_MAX });
  });

  it('parses and rejects values with the expected range', () => {
    expect(parseEntries('4096')).toBe(4096);
    expect(() => parseEntries('0')).toThrow('expected a number of entries 1..16777216');
    expect(() => parseEntries('1e3')).toThrow('expected a number of entries');
    expect(parseRatio('0.0025')).toBe(0.0025);
    expect(() => parseRatio('0')).toThrow('0 < ratio ≤ 1');
    expect(() => parseRatio('1.5')).toThrow('0 < ratio ≤ 1');
  });

  it('reaches the agent config from flags and from the config file', () => {
    const cfg = resolveAgentConfig({ manifests: '/m', bpfLbMapMax: 32, fullSyncPeriod: 60_000 }, () => true);
    expect(cfg.mapSizes).toEqual({ bpfLbMapMax: 32, bpfCtGlobalMax: undefined, bpfMapDynamicSizeRatio: undefined });
    expect(cfg.fullSyncPeriodMs).toBe(60_000);
    const file = resolveAgentConfig({ config: 'c.yaml' }, (k) => k === 'config', {
      readFile: () => 'manifests: /m\nbpfCtGlobalMax: 8192\nbpfMapDynamicSizeRatio: "0.01"\n',
    });
    expect(file.mapSizes).toMatchObject({ bpfCtGlobalMax: 8192, bpfMapDynamicSizeRatio: 0.01 });
    expect(file.fullSyncPeriodMs).toBe(300_000);
  });
});
