// `switchyard inspect`: what the kernel is doing, read from the pinned maps (agent running or not).
import { Command, Option } from 'commander';
import { DEFAULT_PIN_DIR } from '../agent/config.js';
import { affinityView, backendsView, conntrackView, servicesView, type MapContents } from '../inspect/views.js';
import { humanDuration, renderTable } from './table.js';

type Output = 'table' | 'json';

function print(output: Output, rows: object[], table: () => string): void {
  process.stdout.write(output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : table());
}

/** libbpf is loaded only when a map is read, so `switchyard --help` works anywhere. */
async function readPinnedMaps(pinDir: string): Promise<MapContents> {
  const { readPinnedMaps: read } = await import('../inspect/read.js');
  return read(pinDir);
}

function viewCommand(name: string, description: string, show: (maps: MapContents, output: Output) => void): Command {
  return new Command(name)
    .description(description)
    .option('--pin-dir <dir>', "the agent's bpffs pin directory", DEFAULT_PIN_DIR)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: { pinDir: string; output: Output }) => show(await readPinnedMaps(opts.pinDir), opts.output));
}

export function inspectCommand(): Command {
  const inspect = new Command('inspect').description('show the live data path, read from the pinned maps');

  inspect.addCommand(
    viewCommand('services', 'services with frontends, backends, affinity and counters', (maps, output) => {
      const rows = servicesView(maps);
      print(
        output,
        rows,
        () =>
          renderTable(
            [
              { key: 'service', header: 'SERVICE' },
              { key: 'type', header: 'TYPE' },
              { key: 'frontends', header: 'FRONTENDS' },
              { key: 'backends', header: 'BACKENDS' },
              { key: 'affinity', header: 'AFFINITY' },
              { key: 'conns', header: 'CONNECTIONS' },
              { key: 'packets', header: 'PACKETS' },
              { key: 'rejects', header: 'REJECTS' },
            ],
            rows.map((r) => ({
              service: r.service,
              type: r.type,
              frontends: r.frontends.join(','),
              backends: r.backends.length
                ? r.backends.map((b) => b.address + (b.local ? '*' : '')).join(',')
                : '<none>',
              affinity: r.affinityTimeoutSeconds ? `ClientIP ${humanDuration(r.affinityTimeoutSeconds)}` : 'None',
              conns: r.newConnections,
              packets: r.packets,
              rejects: r.noEndpointRejects,
            })),
          ) + (rows.some((r) => r.backends.some((b) => b.local)) ? '(* = backend on this node)\n' : ''),
      );
    }),
  );

  inspect.addCommand(
    viewCommand('backends', 'backends and the services that use them', (maps, output) => {
      const rows = backendsView(maps);
      print(output, rows, () =>
        renderTable(
          [
            { key: 'id', header: 'ID' },
            { key: 'address', header: 'ADDRESS' },
            { key: 'node', header: 'NODE' },
            { key: 'state', header: 'STATE' },
            { key: 'services', header: 'SERVICES' },
          ],
          rows.map((r) => ({ ...r, node: r.local ? 'local' : 'remote', services: r.services.join(',') })),
        ),
      );
    }),
  );

  inspect.addCommand(
    viewCommand('conntrack', 'translated flows, newest first', (maps, output) => {
      const rows = conntrackView(maps);
      print(output, rows, () =>
        renderTable(
          [
            { key: 'protocol', header: 'PROTO' },
            { key: 'direction', header: 'DIR' },
            { key: 'tuple', header: 'TUPLE' },
            { key: 'translation', header: 'REWRITE' },
            { key: 'service', header: 'SERVICE' },
            { key: 'age', header: 'IDLE' },
            { key: 'flags', header: 'FLAGS' },
          ],
          rows.map((r) => ({ ...r, age: humanDuration(r.ageSeconds), flags: r.flags.join(',') || '-' })),
        ),
      );
    }),
  );

  inspect.addCommand(
    viewCommand('affinity', 'ClientIP session affinity entries', (maps, output) => {
      const rows = affinityView(maps);
      print(output, rows, () =>
        renderTable(
          [
            { key: 'service', header: 'SERVICE' },
            { key: 'client', header: 'CLIENT' },
            { key: 'backend', header: 'BACKEND' },
            { key: 'left', header: 'EXPIRES IN' },
          ],
          rows.map((r) => ({ ...r, left: r.expired ? 'expired' : humanDuration(r.secondsLeft) })),
        ),
      );
    }),
  );

  return inspect;
}
