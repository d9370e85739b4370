// The node agent's data path and sync loop: open the pinned data path, wire a source into the
// sync pipeline, attach the programs to the devices, and keep going until told to stop. Built
// and wired to its source and observers by the composition root, main.ts.
// Stopping leaves programs attached and maps pinned: traffic flows while the agent is away.
import type { ExternalAddressPolicy } from '../compile/external-ips.js';
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import {
  attachTcHook,
  BpfObject,
  ensureBpffs,
  forgetTcLink,
  syncMemoryReturner,
  silenceLibbpf,
  type TcDirection,
} from '../bpf/index.js';

/** A program and the tc direction it goes on, on every device of one glob list. */
interface TcHook {
  program: string;
  direction: TcDirection;
}
import type { DesiredState, LbAlgorithm, NodeConfig } from '../compile/index.js';
import { dataplaneMaps, fillReplySourcesAfterUpgrade, type DataplaneMaps } from '../dataplane/maps.js';
import type { SyncResult } from '../dataplane/reconciler.js';
import { Reconciler } from '../dataplane/reconciler.js';
import type { Source, SourcedObject } from '../sources/types.js';
import { DeviceWatcher, globsToRegExp, listInterfaces } from './devices.js';
import { forgetGoneTcLinks, tcLinkPin } from './tc-links.js';
import { nodeAddresses, sameNodeAddresses, type NodeAddresses } from './nodeaddrs.js';
import { Pipeline } from './pipeline.js';
import { effectiveSizes, explainPinnedSize, mapSizes, type MapSizeSettings } from './map-sizes.js';
import { DEFAULT_PIN_DIR, type SocketLbMode } from './config.js';
import { destroyUdpSocketsTo, startSocketLb } from './socklb.js';
import { forgetPodNamespaces, startPodSocketLb, type PodSocketLb } from './pod-sockets.js';
import type { Problem } from './admin.js';

/** How often the uplinks' addresses are re-read; a change re-syncs. */
const ADDRESS_POLL_MS = 1000;
/** How often memory freed by partial syncs is handed back, at most (src/bpf/memory.ts). */
export const RETURN_MEMORY_EVERY_MS = 2000;
/** The node's settings maps: the agent writes them whole, so an older agent's layout is replaced.
 *  Each is marked replace-stale-pin in test/golden/pinned-maps.txt, which the pin-shape guard checks. */
export const NODE_SETTINGS_MAPS = ['config', 'config6'] as const;

/** Observers of the sync loop (health, metrics, health check node ports): wired by main.ts. */
export interface AgentHooks {
  /** The source reported a change; a sync is now pending. */
  changed?: () => void;
  /** A sync applied the desired state (the pipeline's onSynced). */
  synced?: (desired: DesiredState, result: SyncResult, triggerTimes: Date[], nodes?: SourcedObject[]) => void;
  /** A problem with one object was logged (invalid object, full map, failed attach). */
  problem?: (problem: Problem) => void;
}

export interface AgentOptions {
  manifests?: string;
  source?: Source; // a ready-made source (the Kubernetes one); wins over manifests
  podDevices?: string;
  /** Uplink globs for from_netdev (NodePort from outside); attached once the object has it. */
  devices?: string;
  pinDir: string;
  bpfObject: string;
  hostnameOverride?: string;
  /** --nodeport-addresses: CIDRs (kube-proxy's nodePortAddresses). NodePorts answer on the IPv4
   *  addresses of the --devices interfaces inside them, or on all of them when none is IPv4. */
  nodePortAddresses?: string[];
  /** Which externalIPs and LB ingress IPs Services may claim (--cluster-cidr,
   *  --service-cluster-ip-range, --allowed-external-ip-cidrs). */
  externalAddressPolicy?: ExternalAddressPolicy;
  /** --cluster-cidr: the pod ranges (config[0]: from_pod skips Service lookups for pod-to-pod). */
  podCidrs?: string[];
  /** --lb-algorithm and --maglev-table-size (compile's defaults when absent). */
  lbAlgorithm?: LbAlgorithm;
  maglevTableSize?: number;
  minSyncPeriodMs: number;
  /** Run-time map sizes (--bpf-lb-map-max, ...); unset: the compiled-in sizes. */
  mapSizes?: MapSizeSettings;
  /** --full-sync-period (default 5 minutes). */
  fullSyncPeriodMs?: number;
  log: Logger;
  hooks?: AgentHooks;
  /** --socket-lb and --cgroup-root: 'disabled' or absent attaches no cgroup program. */
  socketLb?: SocketLbMode;
  cgroupRoot?: string;
}

export class Agent {
  private readonly watchers: DeviceWatcher[] = [];
  private addressTimer: NodeJS.Timeout | undefined;
  /** --socket-lb all: the pods whose namespaces the socket-LB programs serve. */
  private podSockets: PodSocketLb | undefined;

  private constructor(
    readonly pipeline: Pipeline,
    /** The typed maps, for readers outside the sync loop (the metrics' stats reader). */
    readonly maps: DataplaneMaps,
    private readonly source: Source,
    private readonly obj: BpfObject,
    private readonly log: Logger,
    private readonly hooks?: AgentHooks,
  ) {}

  static async start(opts: AgentOptions): Promise<Agent> {
    const { log } = opts;
    silenceLibbpf();
    ensureBpffs(opts.pinDir, { mountIfMissing: opts.pinDir === DEFAULT_PIN_DIR });
    const maxEntries = mapSizes(opts.mapSizes ?? {});
    const { obj, maps } = openDataplane(opts, maxEntries);
    const source = opts.source ?? (await manifestSource(opts));
    // NodePort addresses and the SNAT address come from the uplinks, re-read while running.
    const devices = opts.devices ? globsToRegExp(opts.devices) : undefined;
    const readAddresses = () => nodeAddresses(networkInterfaces(), devices, opts.nodePortAddresses ?? []);
    let addresses = readAddresses();
    const nodeName = opts.hostnameOverride ?? hostname();
    // The SNAT address is compiled into config[0], which the first sync writes before any program
    // is attached: an SNAT flow must never take the frontend address by default.
    const node = (): NodeConfig => ({
      nodeName,
      nodePortAddresses: addresses.nodePortAddresses,
      snatAddress: addresses.snatAddress,
      ...(addresses.snatAddress6 ? { snatAddress6: addresses.snatAddress6 } : {}),
      nodeAddresses: addresses.all,
      externalAddressPolicy: opts.externalAddressPolicy,
      ...(opts.podCidrs?.length ? { podCidrs: opts.podCidrs } : {}),
      ...(opts.lbAlgorithm ? { lbAlgorithm: opts.lbAlgorithm } : {}),
      ...(opts.maglevTableSize ? { maglevTableSize: opts.maglevTableSize } : {}),
    });
    const sockOpts = { pinDir: opts.pinDir, bpfObject: opts.bpfObject, cgroupRoot: opts.cgroupRoot, maxEntries, log };
    const socketLb = opts.socketLb === 'host' || opts.socketLb === 'all';
    // Connected UDP sockets of this namespace follow their backend out (plan.ts orders it).
    const destroyer = (endpoints: Array<{ addr: string; port: number }>) => {
      destroyUdpSocketsTo(sockOpts, endpoints);
    };
    const giveBack = syncMemoryReturner(RETURN_MEMORY_EVERY_MS);
    const pipeline = new Pipeline({
      source,
      node,
      reconciler: new Reconciler(maps, log, socketLb ? destroyer : undefined),
      log,
      minSyncPeriodMs: opts.minSyncPeriodMs,
      fullResyncPeriodMs: opts.fullSyncPeriodMs,
      onSynced: (desired, result, triggers, nodes) => {
        opts.hooks?.synced?.(desired, result, triggers, nodes);
        // What syncs freed natively (list and watch buffers, map-write copies) goes back to the
        // kernel, or malloc holds it for the agent's life (src/bpf/memory.ts). After the metrics:
        // the trim (up to ~10 ms) is not part of programming the change.
        const releasedBytes = giveBack(result.mode === 'full');
        if (releasedBytes > 0) log.debug({ releasedBytes }, 'freed memory returned');
      },
      onProblem: opts.hooks?.problem,
    });
    const agent = new Agent(pipeline, maps, source, obj, log, opts.hooks);
    // Reconcile only once the source holds everything: a partial view would delete services.
    await source.start((change) => {
      opts.hooks?.changed?.();
      pipeline.request(change);
    });
    pipeline.syncNow();
    if (socketLb) {
      startSocketLb(sockOpts);
      if (opts.socketLb === 'all' && opts.podDevices)
        // An IPv6 pod range: pods are dual-stack, and their IPv6 address may come a moment late.
        agent.podSockets = startPodSocketLb(
          opts.pinDir,
          opts.podDevices,
          log,
          !!opts.podCidrs?.some((c) => c.includes(':')),
        );
      else forgetPodNamespaces(opts.pinDir, log);
    }
    // Interfaces that went while no agent ran took their links along; their pins go too.
    const gone = forgetGoneTcLinks(opts.pinDir, listInterfaces());
    if (gone.length) log.info({ devices: gone }, 'removed the tc link pins of interfaces that are gone');
    if (opts.podDevices) {
      // to_pod (egress) translates replies the node's own sockets send to pods (a host-network
      // endpoint); an object built before it existed still serves every other flow.
      const hooks: TcHook[] = [{ program: 'from_pod', direction: 'ingress' }];
      if (obj.programNames().includes('to_pod')) hooks.push({ program: 'to_pod', direction: 'egress' });
      agent.attachPrograms(opts.podDevices, hooks);
    }
    if (opts.devices) {
      // An object built before from_netdev existed: say so rather than fail.
      if (obj.programNames().includes('from_netdev'))
        agent.attachPrograms(opts.devices, [{ program: 'from_netdev', direction: 'ingress' }]);
      else log.warn({ devices: opts.devices }, 'no from_netdev program in the object: uplinks not attached');
    }
    agent.addressTimer = setInterval(() => {
      const next = readAddresses();
      if (sameNodeAddresses(next, addresses)) return;
      addresses = next;
      logAddresses(log, next, 'node addresses changed');
      pipeline.request();
    }, ADDRESS_POLL_MS);
    logAddresses(log, addresses, 'node addresses');
    log.info({ node: nodeName, pinDir: opts.pinDir, source: source.name }, 'agent started');
    return agent;
  }

  private attachPrograms(globs: string, hooks: TcHook[]): void {
    const progs = hooks.map((h) => ({ ...h, prog: this.obj.program(h.program) }));
    const pinDir = this.obj.pinDir!;
    const forget = (ifname: string) => {
      for (const { direction } of hooks) forgetTcLink(tcLinkPin(pinDir, ifname, direction));
    };
    const onAppear = (ifname: string) => {
      for (const { program, direction, prog } of progs) {
        try {
          const mode = attachTcHook(ifname, direction, prog, tcLinkPin(pinDir, ifname, direction));
          this.log.info({ device: ifname, program, direction, mode }, 'attached');
        } catch (err) {
          // The interface may have vanished between the scan and the attach; try again next scan.
          this.log.warn({ device: ifname, program, direction, err: (err as Error).message }, 'attach failed');
          this.hooks?.problem?.({
            kind: 'device',
            object: ifname,
            message: `attach ${program} (${direction}) failed: ${(err as Error).message}`,
          });
          watcher.forget(ifname);
        }
      }
    };
    const watcher: DeviceWatcher = new DeviceWatcher(globsToRegExp(globs), onAppear, forget);
    watcher.start();
    this.watchers.push(watcher);
  }

  async stop(): Promise<void> {
    clearInterval(this.addressTimer);
    for (const w of this.watchers) w.stop();
    this.podSockets?.stop();
    this.pipeline.stop();
    await this.source.stop();
    this.obj.close();
    this.log.info('agent stopped; programs stay attached and maps pinned');
  }
}

/**
 * The data-path object opened on its pins, and its maps, made ready before any program of it is
 * attached: a node-settings pin of an older layout replaced (the first sync writes it whole), the
 * reply-source filter filled when an older agent's flows are tracked without it.
 */
function openDataplane(
  opts: AgentOptions,
  maxEntries: Record<string, number>,
): { obj: BpfObject; maps: DataplaneMaps } {
  const { log } = opts;
  let obj: BpfObject;
  try {
    obj = BpfObject.open(opts.bpfObject, { pinDir: opts.pinDir, maxEntries, replaceStalePins: NODE_SETTINGS_MAPS });
  } catch (err) {
    throw explainPinnedSize(err, opts.pinDir);
  }
  log.info({ maxEntries: effectiveSizes(maxEntries) }, 'map sizes');
  if (obj.replacedPins.length)
    log.info({ maps: obj.replacedPins, pinDir: opts.pinDir }, 'pinned maps of an older layout replaced');
  // A data path built without the IPv6 maps serves IPv4 only: say so once per map, not per sync.
  const warned = new Set<string>();
  const maps = dataplaneMaps(obj, (map) => {
    if (warned.has(map)) return;
    warned.add(map);
    log.warn({ map }, 'the BPF object has no IPv6 twin of this map: IPv6 entries are not programmed');
  });
  if (fillReplySourcesAfterUpgrade(maps))
    log.info(
      { map: 'ct_reply_src', pinDir: opts.pinDir },
      'flows tracked but the reply-source filter empty (an agent without it ran here): every address counts as a reply source',
    );
  return { obj, maps };
}

function logAddresses(log: Logger, a: NodeAddresses, msg: string): void {
  log.info({ nodePortAddresses: a.nodePortAddresses, snatAddress: a.snatAddress ?? null }, msg);
}

/** Loaded only for --manifests: the two YAML parsers it brings are ~2 MiB of heap (their source
 *  text and code) that an agent reading the API server would hold for nothing. */
async function manifestSource(opts: AgentOptions): Promise<Source> {
  if (!opts.manifests) throw new Error('agent: give --manifests DIR or --kubeconfig');
  const { ManifestSource } = await import('../sources/manifests.js');
  return new ManifestSource({ dir: opts.manifests, logger: opts.log });
}
