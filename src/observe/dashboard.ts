/**
 * dashboard(executor): a live page on a local HTTP server — the task stream per worker,
 * progress and utilisation from stats() — updated through Server-Sent Events. It never
 * keeps the process alive by itself: its server, its sockets and its timer are unref'd.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { http } from '../builtins.js';
import { InvalidTypeError } from '../errors.js';
import { integerOption, knownKeys, objectOption } from '../options.js';
import type { ExecutorEvent, ObservableExecutor } from './events.js';
import { dashboardPage } from './dashboard-page.js';

export interface DashboardOptions {
  /**
   * The port to listen on; 0 picks a free one (read it from `url`).
   * @default 0
   */
  port?: number | undefined;
  /**
   * The address to listen on. The page shows task names and error messages and takes no
   * password: keep it on loopback unless the network is yours.
   * @default '127.0.0.1'
   */
  host?: string | undefined;
}

export interface Dashboard {
  /** Where the page is: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Stops listening to the executor, ends the open pages' streams and closes the server. Safe to call twice. */
  close(): Promise<void>;
}

/** How often the open pages are sent what happened (ms). */
const PUSH_MS = 250;
/** Events held for the next push at most; past it, the oldest task ends are dropped (the page says how many). */
const MAX_PENDING = 5_000;
/** A page whose stream holds more than this unsent (it stopped reading) when the next message is due is disconnected. */
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

/** The names a request may give in its Host header: loopback's, and the address listened on (a wildcard admits any IP literal). */
function hostChecker(host: string, port: number): (header: string | undefined) => boolean {
  const names = new Set(['localhost', '127.0.0.1', '[::1]', (host.includes(':') ? `[${host}]` : host).toLowerCase()]);
  const anyAddress = host === '0.0.0.0' || host === '::' || host === '[::]';
  return (header) => {
    if (header === undefined) return false;
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]@/\s]+)(?::(\d{1,5}))?$/i.exec(header.trim());
    if (m === null || Number(m[2] ?? 80) !== port) return false;
    const name = m[1].toLowerCase();
    // DNS rebinding needs a name: an address typed in is not one.
    return names.has(name) || (anyAddress && (/^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.startsWith('[')));
  };
}

/** Serves a live page of `executor`'s work, as Dask's dashboard does; resolves once it listens. */
export async function dashboard(executor: ObservableExecutor, options?: DashboardOptions): Promise<Dashboard> {
  const where = 'dashboard()';
  if (typeof (executor as Partial<ObservableExecutor> | null)?.on !== 'function') {
    throw new InvalidTypeError(`${where}: expected a ThreadPool, ProcessPool or LocalExecutor (an executor with on() and off()); a Cluster emits no events yet`);
  }
  const o = objectOption(where, options) as DashboardOptions & Record<string, unknown>;
  knownKeys(where, o, ['port', 'host']);
  const port = o.port === undefined ? 0 : integerOption(where, 'port', o.port, 0, 65_535);
  if (o.host !== undefined && typeof o.host !== 'string') throw new InvalidTypeError(`${where}: the "host" option must be a string; received ${typeof o.host}`);
  const host = o.host ?? '127.0.0.1';

  const clients = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let pending: ExecutorEvent[] = [];
  let droppedEvents = 0;
  const onEvent = (event: ExecutorEvent): void => {
    if (clients.size === 0) return;
    if (pending.length >= MAX_PENDING) {
      droppedEvents++;
      return;
    }
    pending.push(event);
  };
  const push = (): void => {
    if (clients.size === 0) return;
    const message = { now: Date.now(), executor: executor.constructor.name, stats: executor.stats(), events: pending, dropped: droppedEvents };
    pending = [];
    droppedEvents = 0;
    const frame = `data: ${JSON.stringify(message)}\n\n`;
    for (const res of clients) {
      // A page that stopped reading would hold every frame in memory: it is cut off (its EventSource reconnects, afresh).
      if (res.writableLength > MAX_UNSENT_BYTES) {
        clients.delete(res);
        res.destroy();
      } else res.write(frame);
    }
  };

  let hostAllowed = (_header: string | undefined): boolean => false;
  const server = http().createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (!hostAllowed(req.headers.host)) {
      // A page of another site whose name was rebound to this address: its requests name that site.
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: unknown Host');
    } else if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      }).end(dashboardPage(executor.constructor.name));
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': forkjoin\n\n');
      clients.add(res);
      req.socket.unref();
      res.on('close', () => { clients.delete(res); });
      push();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.unref();
    socket.on('close', () => { sockets.delete(socket); });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  hostAllowed = hostChecker(host, bound);
  const timer = setInterval(push, PUSH_MS);
  timer.unref();
  executor.on('taskEnd', onEvent).on('workerStart', onEvent).on('workerExit', onEvent);

  const shown = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${shown}:${bound}/`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        // Until the server has closed, this holds the event loop: an awaited close() must settle.
        const hold = setTimeout(() => {}, 60_000);
        clearInterval(timer);
        executor.off('taskEnd', onEvent).off('workerStart', onEvent).off('workerExit', onEvent);
        push();
        for (const res of clients) res.end();
        clients.clear();
        server.close(() => {
          clearTimeout(hold);
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
