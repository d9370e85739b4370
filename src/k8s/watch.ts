// One watch request: a chunked 200 response with one JSON event per line, read until the server
// ends it (timeoutSeconds) or the connection breaks.
import type { ApiClient } from './client.js';
import { ApiError } from './client.js';
import { statusMessage } from './list.js';

export interface WatchHandlers {
  /** The response's headers are in: the watch is open. */
  open: () => void;
  /** Each line, parsed; `type` and `object` as the line had them, unchecked. */
  event: (type: unknown, object: unknown) => void;
  /** A line that is not JSON. */
  garbage: (line: string) => void;
}

/**
 * Watches `path` with @query (watch=true is added). Resolves when the server ends the stream
 * cleanly; rejects with an ApiError carrying the status for anything but a 200, and with the
 * connection's error when it breaks or @signal aborts it.
 */
export async function watchRaw(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
  handlers: WatchHandlers,
  signal?: AbortSignal,
): Promise<void> {
  const res = await api.get(path, { ...query, watch: 'true' }, signal);
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const message = statusMessage(Buffer.concat(chunks).toString('utf8'));
    throw new ApiError(`watch ${path}: HTTP ${res.statusCode}: ${message}`, res.statusCode);
  }
  handlers.open();
  res.setEncoding('utf8');
  let rest = '';
  for await (const chunk of res as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let ev: { type?: unknown; object?: unknown };
      try {
        ev = JSON.parse(line);
      } catch {
        handlers.garbage(line);
        continue;
      }
      if (typeof ev !== 'object' || ev === null) handlers.garbage(line);
      else handlers.event(ev.type, ev.object);
    }
  }
}
