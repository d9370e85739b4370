// The checks diagnose shares between a node and the lab (src/explain/checks.ts): the lines they
// print, and what they say when the API could not be read or the port asked is the targetPort.
import { describe, expect, it } from 'vitest';
import { portCheck, renderChecks, selectorCheck, serviceCheck, skip, fail } from '../../src/explain/checks.js';

const spec = {
  clusterIP: '10.96.0.5',
  selector: { app: 'web' },
  ports: [{ name: 'http', port: 80, targetPort: 8080 }],
};

describe('diagnose checks', () => {
  it('prints ✓/✗/–, with what to do under a ✗ and why under a skip', () => {
    expect(
      renderChecks([
        serviceCheck({ metadata: { name: 'web', namespace: 'default' }, spec }, 'web', 'list them'),
        fail('the thing works', 'it does not', 'fix it'),
        skip('the name resolves', 'needs a pod'),
      ]),
    ).toBe(
      '✓ Service default/web exists and has a cluster IP: 10.96.0.5 ports 80/TCP\n' +
        '✗ the thing works: it does not\n    → fix it\n' +
        '– the name resolves: skipped, needs a pod\n',
    );
  });

  it('a Service without cluster IP or not found fails, naming why', () => {
    expect(serviceCheck(undefined, 'web', '`kubectl get services -A`')).toMatchObject({
      status: 'fail',
      fix: 'check the name and namespace: `kubectl get services -A`',
    });
    const headless = serviceCheck({ metadata: { name: 'h' }, spec: { clusterIP: 'None' } }, 'h', '');
    expect(headless).toMatchObject({ status: 'fail', detail: 'it is headless (clusterIP: None)' });
  });

  it('the selector: matches, matches nothing (with the labels pods have), or skipped when pods are unreadable', () => {
    const pods = [
      { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
      { name: 'db-1', namespace: 'default', labels: { app: 'db' } },
      { name: 'web-x', namespace: 'prod', labels: { app: 'web' } },
    ];
    expect(selectorCheck(spec, 'default', pods, 1)).toEqual({
      status: 'ok',
      title: 'the selector app=web matches 1 pod(s)',
      detail: 'web-1',
    });
    expect(selectorCheck({ selector: { app: 'nope' } }, 'default', pods, 0).detail).toBe(
      'no pod in default has these labels (pods have: app=web | app=db)',
    );
    expect(selectorCheck(spec, 'default', 'HTTP 403', 1)).toMatchObject({ status: 'skip', detail: 'HTTP 403' });
  });

  it('tells the targetPort from the Service port', () => {
    const target = (p: Record<string, unknown>) => Number(p.targetPort);
    expect(portCheck(spec, spec.ports[0], 8080, target)).toMatchObject({
      status: 'fail',
      detail: "8080 is the targetPort (the pods' port) of Service port 80",
    });
    expect(portCheck(spec, spec.ports[0], 80, target).status).toBe('ok');
  });
});
