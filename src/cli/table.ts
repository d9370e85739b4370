// kubectl-style tables: upper-case headers, columns padded to their widest cell, three spaces apart.
export type Row = Record<string, string | number | boolean | undefined>;

export function renderTable(columns: Array<{ key: string; header: string }>, rows: Row[]): string {
  if (rows.length === 0) return 'No resources found.\n';
  const cells = rows.map((r) => columns.map((c) => String(r[c.key] ?? '<none>')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')}\n`;
}

/** "3s", "4m12s", "2h5m", "3d4h": ages the way kubectl prints them. */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400)
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}
