// The text of `switchyard explain`: one screen per service port, in the order a person asks —
// where it answers, who is behind it, who is stuck to whom, what flows now, and what is wrong.
import type { Explained } from './explain.js';

const placeOf = (local?: boolean) => (local === undefined ? '' : local ? ' (local)' : ' (remote)');

export function renderExplained(e: Explained, where: string): string {
  const out: string[] = [];
  out.push(`Service port ${e.service} (${e.type}, svc id ${e.svcId}) on ${where}`);
  out.push('  Frontends:');
  for (const f of e.frontends)
    out.push(`    ${f.scope.padEnd(8)} ${`${f.address}/${f.protocol}`.padEnd(24)} ${f.flags.join(',') || '-'}`);
  out.push(`  Backend set ${e.set.id}, generation ${e.set.gen}, ${e.set.count} member(s), in slot order:`);
  if (e.set.count === 0) out.push('    (empty: new connections are rejected — no ready endpoints)');
  for (const s of e.set.slots) {
    out.push(
      `    slot ${String(s.slot).padStart(2)} → ` +
        (s.backendId === undefined ? 'MISSING' : `backend ${s.backendId} ${s.backend ?? 'MISSING'}${placeOf(s.local)}`),
    );
  }
  out.push('  Backends:');
  if (!e.backends.length) out.push('    none');
  for (const b of e.backends)
    out.push(`    ${String(b.id).padStart(4)}  ${b.address.padEnd(21)} ${b.node.padEnd(6)} ${b.state}`);
  out.push(
    `  Session affinity: ${e.affinityTimeoutSeconds ? `ClientIP, ${e.affinityTimeoutSeconds}s` : 'None'}` +
      (e.affinity.length ? '' : ', no entries'),
  );
  for (const a of e.affinity)
    out.push(
      `    ${a.client} → ${a.backend} (backend ${a.backendId}), ${a.expired ? 'expired' : `${a.secondsLeft}s left`}`,
    );
  out.push(`  Live flows: ${e.flows.length}`);
  for (const f of e.flows.slice(0, 10))
    out.push(`    ${f.protocol} ${f.direction.padEnd(7)} ${f.tuple}  ${f.translation}  ${f.flags.join(',')}`);
  if (e.flows.length > 10) out.push(`    … ${e.flows.length - 10} more (switchyard inspect conntrack)`);
  const c = e.counters;
  out.push(
    `  Counters: ${c.packets} packets, ${c.bytes} bytes, ${c.newConnections} new connections, ` +
      `${c.noEndpointRejects} rejected for no endpoint`,
  );
  if (e.drift.length) {
    out.push(`  Drift: ${e.drift.length} problem(s) in the maps:`);
    for (const d of e.drift) out.push(`    ✗ ${d}`);
  } else {
    out.push('  Drift: none, the maps are consistent');
  }
  return `${out.join('\n')}\n`;
}
