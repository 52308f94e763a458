// More than one listening socket on the service's port (docs/decisions/0007). libuv accepts one
// connection each time the event loop finds a listening socket readable (still so on Node 24), so an
// instance whose turns carry tens of milliseconds of answers accepts 15 to 30 connections a second,
// and a burst of new connections (or a health probe's) waits in the kernel's accept queue into the
// clients' timeouts, whatever the in-flight bound refuses. With SO_REUSEPORT (Node's `reusePort`)
// several sockets are bound to the one port and the kernel spreads new connections over them; each
// is registered with the event loop on its own, so a turn accepts up to one connection per socket.
import type { Server } from 'node:http';
import { createServer, Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { Logger } from '../observability/logger.js';

/** Where the kernel spreads connections over a port's SO_REUSEPORT sockets (Node's `reusePort`). */
const BALANCING_PLATFORMS: ReadonlySet<NodeJS.Platform> = new Set(['linux', 'freebsd', 'sunos', 'aix']);

/** How many sockets to listen on: `handles`, or 1 (with a warning) where the platform cannot spread connections. */
export function listeningSockets(handles: number, logger: Logger, platform: NodeJS.Platform = process.platform): number {
  if (handles <= 1 || BALANCING_PLATFORMS.has(platform)) return handles;
  logger.warn(
    `listening on one socket, not HTTP_ACCEPT_HANDLES=${handles}: ${platform} does not spread a port's connections over several sockets`,
  );
  return 1;
}

/**
 * Fails with EADDRINUSE when another process listens on `port`, as a plain listen would: every
 * socket of a SO_REUSEPORT group sets the option, so without this check a second instance started
 * on the same port would join the group and silently take a share of the connections. Port 0 asks
 * the kernel for a free port and needs no check.
 */
export async function ensurePortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host, port }, resolve);
  });
  await new Promise((resolve) => probe.close(resolve));
}

/**
 * Opens `sockets - 1` more sockets on the address `server` listens on (with `reusePort`, as it
 * must itself) and returns them, to close with it (src/platform/drain.ts); the connections they accept
 * are the server's ('connection', timeouts). If one cannot be opened the server keeps those it has
 * and a warning says so.
 */
export async function addAcceptors(server: Server, sockets: number, backlog: number, logger: Logger): Promise<NetServer[]> {
  const { address: host, port } = server.address() as AddressInfo;
  const extras: NetServer[] = [];
  try {
    while (extras.length < sockets - 1) {
      const extra = new NetServer();
      await new Promise<void>((resolve, reject) => {
        extra.once('error', reject);
        extra.listen({ host, port, backlog, reusePort: true }, () => {
          extra.off('error', reject);
          resolve();
        });
      });
      extra.on('connection', (socket: Socket) => server.emit('connection', socket));
      extra.on('error', (error) => logger.error({ err: error }, 'an extra listening socket failed'));
      extras.push(extra);
    }
  } catch (error) {
    logger.warn({ err: error }, `listening on ${extras.length + 1} of ${sockets} sockets: ${(error as Error).message}`);
  }
  return extras;
}
