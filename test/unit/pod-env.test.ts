// What a lab pod starts with (src/lab/pod-env.ts): the kubelet's Service variables and resolv.conf.
import { describe, expect, it } from 'vitest';
import { resolvConf, serviceEnv } from '../../src/lab/pod-env.js';

const svc = (name: string, spec: Record<string, unknown>, namespace = 'default') => ({
  metadata: { name, namespace },
  spec,
});

describe('pod environment', () => {
  it("sets the kubelet's Service variables and the Docker-link ones, for cluster-IP Services of the namespace", () => {
    const env = serviceEnv(
      [
        svc('my-nginx', { clusterIP: '10.96.0.11', ports: [{ port: 80, protocol: 'TCP' }] }),
        svc('kube-dns', {
          clusterIP: '10.96.0.10',
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
        }),
        svc('heads', { clusterIP: 'None', ports: [{ port: 80 }] }),
        svc('alias', { type: 'ExternalName', externalName: 'x.example.com' }),
        svc('other-ns', { clusterIP: '10.96.0.99', ports: [{ port: 80 }] }, 'prod'),
      ],
      'default',
    );
    expect(env).toMatchObject({
      MY_NGINX_SERVICE_HOST: '10.96.0.11',
      MY_NGINX_SERVICE_PORT: '80',
      MY_NGINX_PORT: 'tcp://10.96.0.11:80',
      MY_NGINX_PORT_80_TCP: 'tcp://10.96.0.11:80',
      MY_NGINX_PORT_80_TCP_PROTO: 'tcp',
      MY_NGINX_PORT_80_TCP_PORT: '80',
      MY_NGINX_PORT_80_TCP_ADDR: '10.96.0.11',
      KUBE_DNS_SERVICE_PORT: '53',
      KUBE_DNS_SERVICE_PORT_DNS: '53',
      KUBE_DNS_SERVICE_PORT_DNS_TCP: '53',
      KUBE_DNS_PORT: 'udp://10.96.0.10:53',
      KUBE_DNS_PORT_53_UDP: 'udp://10.96.0.10:53',
      KUBE_DNS_PORT_53_TCP: 'tcp://10.96.0.10:53',
    });
    expect(Object.keys(env).filter((k) => /^(HEADS|ALIAS|OTHER_NS)_/.test(k))).toEqual([]);
  });

  it("writes the resolver of the cluster DNS with the namespace's search path", () => {
    expect(resolvConf('default')).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });
});
