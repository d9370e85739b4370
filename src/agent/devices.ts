// Finds the interfaces to attach to: comma-separated globs (e.g. "lxc*,veth*"), polled so
// that pod interfaces created later are attached when they appear.
import { readdirSync } from 'node:fs';

export function globsToRegExp(globs: string): RegExp {
  const parts = globs
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error(`device list "${globs}" names no interface`);
  const escaped = parts.map((g) =>
    g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.'),
  );
  return new RegExp(`^(?:${escaped.join('|')})$`);
}

export function listInterfaces(): string[] {
  return readdirSync('/sys/class/net');
}

export class DeviceWatcher {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pattern: RegExp,
    private readonly onAppear: (ifname: string) => void,
    private readonly onGone: (ifname: string) => void = () => {},
    private readonly intervalMs = 250,
  ) {}

  /** Attaches to what exists now, synchronously, then keeps watching. */
  start(): void {
    this.scan();
    this.timer = setInterval(() => this.scan(), this.intervalMs);
  }

  scan(): void {
    const now = new Set(listInterfaces().filter((n) => this.pattern.test(n)));
    for (const name of now) {
      if (this.seen.has(name)) continue;
      this.seen.add(name);
      this.onAppear(name);
    }
    for (const name of this.seen) {
      if (now.has(name)) continue;
      this.seen.delete(name);
      this.onGone(name);
    }
  }

  /** Forget an interface so the next scan offers it again (after a failed attach). */
  forget(name: string): void {
    this.seen.delete(name);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
