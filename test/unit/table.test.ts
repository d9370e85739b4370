import { describe, expect, it } from 'vitest';
import { humanDuration, renderTable } from '../../src/cli/table.js';

describe('renderTable', () => {
  it('pads columns to the widest cell and prints headers first', () => {
    const out = renderTable(
      [
        { key: 'name', header: 'NAME' },
        { key: 'ip', header: 'CLUSTER-IP' },
      ],
      [
        { name: 'default/my-nginx', ip: '10.96.0.10' },
        { name: 'x', ip: undefined },
      ],
    );
    expect(out).toBe('NAME               CLUSTER-IP\ndefault/my-nginx   10.96.0.10\nx                  <none>\n');
  });
  it('says so when there is nothing to show', () => {
    expect(renderTable([{ key: 'a', header: 'A' }], [])).toBe('No resources found.\n');
  });
});

describe('humanDuration', () => {
  it('prints ages like kubectl', () => {
    expect([5, 65, 3600, 3720, 90000].map(humanDuration)).toEqual(['5s', '1m5s', '1h', '1h2m', '1d1h']);
  });
});
