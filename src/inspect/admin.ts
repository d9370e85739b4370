// The agent's admin endpoint, as both ends see it: where it listens and what it answers. The
// agent (src/agent/admin.ts) serves it; `explain` and `diagnose` (src/explain) read it. Kept here,
// below both, so the wire format has one definition.
//
// Where: a unix socket in /run/switchyard, named after the pin directory, so that a tool on the
// node finds the agent that owns the maps it reads without a flag, and two agents on one machine
// (the lab's nodes) never share one. Not on the healthz/metrics port: that one listens on every
// address for probes, while what an agent wants and the errors it logged (object names, fields)
// are for root on the node only; a 0600 socket says so without a port to pick or firewall.
import { createHash } from 'node:crypto';

export const ADMIN_SOCKET_DIR = '/run/switchyard';
const DEFAULT_PIN_DIR = '/sys/fs/bpf/switchyard';

/** The admin socket of the agent pinning its maps in `pinDir`. */
export function adminSocketPath(pinDir: string): string {
  const dir = pinDir.replace(/\/+$/, '');
  if (dir === DEFAULT_PIN_DIR) return `${ADMIN_SOCKET_DIR}/admin.sock`;
  // A hash, not the path itself: a socket path must stay under 108 bytes.
  return `${ADMIN_SOCKET_DIR}/admin-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}.sock`;
}

/** One frontend the agent wants, as explain names frontends. */
export interface WantedFrontend {
  address: string;
  protocol: string;
  scope: 'internal' | 'external';
  setId: number;
}

/** One service port as the last applied desired state says (GET /v1/wants). */
export interface WantedServicePort {
  /** "ns/name:port/PROTO", service_info's name. */
  servicePort: string;
  svcId: number;
  /** The Service port's number (the name may be its port name). */
  port: number;
  frontends: WantedFrontend[];
  /** set id → backend ids in slot order (slot i+1 = ids[i]); Maglev sets: distinct members. */
  sets: Record<string, number[]>;
  /** backend id → "addr:port". */
  backends: Record<string, string>;
  /** Set when its sets are Maglev tables (written to the maglev map, not slots). */
  maglev?: boolean;
  /** Why the agent left it out of the maps although it wants it (a full map). */
  notProgrammed?: string;
}

export interface AgentWants {
  node: string;
  /** When the desired state was applied (ISO 8601); absent before the first sync. */
  appliedAt?: string;
  servicePorts: WantedServicePort[];
}

/** One error the agent logged about an object (GET /v1/errors). */
export interface LoggedError {
  /** ISO 8601. */
  time: string;
  /** "Service", "EndpointSlice", "device", ... */
  kind: string;
  /** "namespace/name", or the device name. */
  object: string;
  field?: string;
  message: string;
}

export interface AgentErrors {
  /** "Kind namespace/name" → the last errors, oldest first. */
  objects: Record<string, LoggedError[]>;
}
