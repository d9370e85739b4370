// deploy/ checked offline: every YAML parses; every Kubernetes object validates against the
// Kubernetes schema (kubernetes-models' generated validators: types, required fields, enums) and
// has no unknown field (client-node's model field lists, like `kubectl apply --validate=strict`);
// every --flag the DaemonSet passes is one the agent command defines (read from the command).
import * as k8s from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigFile } from '../../src/agent/config.js';
import { agentCommand, configFromCommand } from '../../src/cli/agent.js';
import { AGENT_NODE_FLAGS } from '../../src/util/agent-node-flags.js';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
type Obj = Record<string, any>; // parsed YAML: shape checked by the schema test

function yamlFiles(): string[] {
  return readdirSync(DEPLOY)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

function documents(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'));
  return docs
    .map((d, i) => {
      if (d.errors.length > 0) throw new Error(`${file} document ${i}: ${d.errors[0].message}`);
      return d.toJSON() as Obj;
    })
    .filter((o) => o !== null);
}

const objects = () => yamlFiles().flatMap((f) => documents(f).map((object) => ({ file: f, object })));
const isKind = (apiVersion: string) => apiVersion.startsWith('kind.x-k8s.io/');

/** Schema validation of one built-in object; resolves to the problems found ([] when valid). */
async function schemaProblems(o: Obj): Promise<string[]> {
  const { apiVersion, kind } = o;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind are required'];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, unknown>;
  } catch {
    return [`unknown apiVersion ${apiVersion}`];
  }
  const Model = mod[kind] as (new (data: Obj) => { validate(): void }) | undefined;
  if (!Model) return [`unknown kind ${apiVersion} ${kind}`];
  const problems: string[] = [];
  try {
    new Model(o).validate();
  } catch (err) {
    problems.push((err as Error).message);
  }
  const version = apiVersion.split('/').pop()!;
  unknownFields(o, `${version[0].toUpperCase()}${version.slice(1)}${kind}`, '', problems);
  return problems;
}

/** Fields the Kubernetes model doesn't have (the schema validators allow extra properties). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const list = /^Array<(.+)>$/.exec(type);
  if (list) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, list[1], `${path}[${i}]`, out));
    return;
  }
  const dict = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (dict) {
    if (typeof value === 'object')
      for (const [k, v] of Object.entries(value)) unknownFields(v, dict[1], `${path}.${k}`, out);
    return;
  }
  const model = (
    k8s as unknown as Record<string, { getAttributeTypeMap?: () => Array<{ baseName: string; type: string }> }>
  )[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object' || Array.isArray(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = fields.get(k);
    if (t === undefined) out.push(`${path ? `${path}.` : ''}${k}: unknown field in ${type}`);
    else unknownFields(v, t, `${path ? `${path}.` : ''}${k}`, out);
  }
}

function daemonSet(): Obj {
  const ds = objects().find(({ object }) => object.kind === 'DaemonSet');
  if (!ds) throw new Error('no DaemonSet in deploy/');
  return ds.object;
}

const agentContainer = (ds: Obj): Obj => ds.spec.template.spec.containers.find((c: Obj) => c.name === 'agent');
const clone = <T>(v: T): T => structuredClone(v);

describe('deploy/ YAML', () => {
  it('has the files we ship', () => {
    expect(yamlFiles()).toEqual(expect.arrayContaining(['daemonset.yaml', 'kind-config.yaml']));
  });

  it('parses, and every Kubernetes object is valid against the schema', async () => {
    const all = objects();
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const { file, object } of all) {
      if (isKind(object.apiVersion)) continue;
      expect(await schemaProblems(object), `${file}: ${object.kind} ${object.metadata?.name}`).toEqual([]);
    }
  });

  it('catches broken copies', async () => {
    const ds = daemonSet();
    const breakages: Array<[string, (d: Obj) => void, RegExp]> = [
      [
        'a port as a string',
        (d) => {
          agentContainer(d).ports[0].containerPort = '10256';
        },
        /containerPort must be integer/,
      ],
      [
        'no selector',
        (d) => {
          delete d.spec.selector;
        },
        /required property .?selector/,
      ],
      [
        'a misspelled field',
        (d) => {
          agentContainer(d).volumeMounts[0].mountPropagaton = 'HostToContainer';
        },
        /mountPropagaton: unknown field/,
      ],
      [
        'a wrong enum',
        (d) => {
          d.spec.template.spec.dnsPolicy = 'Sometimes';
        },
        /dnsPolicy/,
      ],
      [
        'capabilities not a list',
        (d) => {
          agentContainer(d).securityContext.capabilities.add = 'BPF';
        },
        /capabilities\/add must be array/,
      ],
    ];
    for (const [what, mutate, expected] of breakages) {
      const broken = clone(ds);
      mutate(broken);
      const problems = await schemaProblems(broken);
      expect(problems.join('\n'), what).toMatch(expected);
    }
    expect(await schemaProblems({ apiVersion: 'apps/v1', kind: 'DeamonSet', metadata: { name: 'x' } })).toEqual([
      'unknown kind apps/v1 DeamonSet',
    ]);
  });

  it('kind-config.yaml: a kind cluster without kube-proxy, one control plane and two workers', () => {
    const [cluster, ...rest] = documents('kind-config.yaml');
    expect(rest).toEqual([]);
    expect(cluster).toMatchObject({
      kind: 'Cluster',
      apiVersion: 'kind.x-k8s.io/v1alpha4',
      networking: { kubeProxyMode: 'none' },
    });
    expect(cluster.nodes.map((n: Obj) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
  });
});

describe('DaemonSet', () => {
  const ds = daemonSet();
  const pod = ds.spec.template.spec;
  const agent = agentContainer(ds);

  it('passes only flags the agent command defines', () => {
    const known = new Set(agentCommand().options.map((o) => o.long));
    expect(known.size).toBeGreaterThan(10);
    const tokens: string[] = [...(agent.command ?? []), ...(agent.args ?? [])];
    const flags = tokens.filter((t) => t.startsWith('--')).map((t) => t.split('=')[0]);
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(known.has(flag), `${flag} is not a flag of \`switchyard agent\``).toBe(true);
    expect(flags).toEqual(expect.arrayContaining(['--hostname-override', '--pod-devices', '--devices', '--config']));
  });

  it('its args and config file resolve to a valid agent configuration', () => {
    const configMap = objects().find(
      ({ object }) =>
        object.kind === 'ConfigMap' &&
        object.metadata.name === pod.volumes.find((v: Obj) => v.configMap)?.configMap.name,
    );
    expect(configMap, 'the ConfigMap the DaemonSet mounts').toBeDefined();
    const settings = parseConfigFile('config.yaml', configMap!.object.data['config.yaml']);
    expect(settings).toMatchObject({ apiserverHost: 'kind-control-plane', apiserverPort: 6443 });

    const cmd = agentCommand()
      .exitOverride()
      .action(() => {});
    const args = (agent.args as string[]).map((a) => a.replace('$(NODE_NAME)', 'kind-worker'));
    cmd.parse(args, { from: 'user' });
    const mount = agent.volumeMounts.find((m: Obj) => m.name === 'config').mountPath;
    const cfg = configFromCommand(cmd, {
      inCluster: true,
      readFile: (p) => {
        expect(p).toBe(`${mount}/config.yaml`);
        return configMap!.object.data['config.yaml'];
      },
    });
    expect(cfg).toMatchObject({
      source: { kind: 'kubernetes', apiserverHost: 'kind-control-plane', apiserverPort: 6443 },
      hostnameOverride: 'kind-worker',
      podDevices: 'veth*,lxc*',
      devices: 'eth0',
      healthzBindAddress: { host: '0.0.0.0', port: 10256 },
    });
    expect(agent.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
  });

  it('runs on every node, first, in the host network', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
  });

  it('probes /healthz and /livez on the healthz port', () => {
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 10256 });
    expect(agent.livenessProbe.httpGet).toEqual({ path: '/livez', port: 10256 });
  });

  it('gets capabilities, not privilege; bpffs comes from the host', () => {
    const sc = agent.securityContext;
    expect(sc.privileged ?? false).toBe(false);
    expect(sc.capabilities.drop).toEqual(['ALL']);
    expect([...sc.capabilities.add].sort()).toEqual(['BPF', 'NET_ADMIN', 'PERFMON']);
    expect(pod.volumes).toContainEqual({ name: 'bpffs', hostPath: { path: '/sys/fs/bpf', type: 'DirectoryOrCreate' } });
    expect(agent.volumeMounts).toContainEqual({
      name: 'bpffs',
      mountPath: '/sys/fs/bpf',
      mountPropagation: 'HostToContainer',
    });
    // Kubernetes allows Bidirectional propagation only in privileged containers.
    for (const c of [...pod.initContainers, ...pod.containers]) {
      for (const m of c.volumeMounts ?? [])
        if (m.mountPropagation === 'Bidirectional') expect(c.securityContext?.privileged, c.name).toBe(true);
    }
  });

  it('runs under a service account that may only read', () => {
    const all = objects().map(({ object }) => object);
    expect(pod.serviceAccountName).toBe('switchyard');
    expect(all).toContainEqual(
      expect.objectContaining({
        kind: 'ServiceAccount',
        metadata: expect.objectContaining({ name: 'switchyard', namespace: ds.metadata.namespace }),
      }),
    );
    const role = all.find((o) => o.kind === 'ClusterRole');
    const verbs = new Set(role!.rules.flatMap((r: Obj) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    const resources = role!.rules.flatMap((r: Obj) => r.resources).sort();
    expect(resources).toEqual(['endpointslices', 'nodes', 'services']);
    const binding = all.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding!.roleRef).toMatchObject({ kind: 'ClusterRole', name: role!.metadata.name });
    expect(binding!.subjects).toContainEqual({
      kind: 'ServiceAccount',
      name: 'switchyard',
      namespace: ds.metadata.namespace,
    });
  });

  it('starts the program the Dockerfile installs', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(agent.command[0]).toBe('/app/bin/switchyard');
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/bin \.\/bin$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/build\/bpf \.\/build\/bpf$/m);
  });

  it("runs node with the agent's node flags (src/util/agent-node-flags.ts)", () => {
    const script = readFileSync(join(DEPLOY, '..', 'bin', 'switchyard'), 'utf8');
    const exec = script.split('\n').find((l) => l.startsWith('exec node '));
    expect(exec?.split(' ').slice(2, 2 + AGENT_NODE_FLAGS.length)).toEqual(AGENT_NODE_FLAGS);
  });
});
