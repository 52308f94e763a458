// Graceful shutdown of the HTTP server: stop accepting, finish every request already accepted,
// then close. Node's own http.Server.close() also destroys at once every connection with no
// request in progress: one accepted a moment ago whose request has not been read yet, or a
// keep-alive connection whose client has just sent its next request. Those clients would see a
// reset for a request they had sent. So only the listening socket is closed here; answers given
// while draining carry `Connection: close`, and a connection idle after a finished answer is
// closed after a short grace in which a request already on its way is still served.
import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** Long enough for a request already sent on an idle keep-alive connection to arrive; short enough not to delay exit. */
const IDLE_GRACE_MS = 1_000;

interface ConnectionState {
  served: number;
  active: number;
}

export interface Drainer {
  /**
   * Resolves once every connection has ended, or after `timeoutMs`, when the rest are destroyed.
   * `acceptors`: other listening handles whose connections are the server's (src/platform/acceptors.ts).
   */
  drain(timeoutMs: number, acceptors?: readonly NetServer[]): Promise<void>;
}

export function drainable(server: Server): Drainer {
  const connections = new Map<Socket, ConnectionState>();
  let draining = false;

  const closeIfStillIdle = (socket: Socket, state: ConnectionState) => {
    if (!draining || state.served === 0 || state.active > 0) return;
    setTimeout(() => {
      // Timers run before the event loop polls for I/O: a request that has already arrived on this
      // socket while the process was busy is read in the poll phase, before this check runs.
      setImmediate(() => {
        if (state.active === 0) socket.destroy();
      });
    }, IDLE_GRACE_MS).unref();
  };

  server.on('connection', (socket: Socket) => {
    connections.set(socket, { served: 0, active: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  // First among the 'request' listeners, so the header is set before any handler answers.
  server.prependListener('request', (req, res: ServerResponse) => {
    const state = connections.get(req.socket);
    if (draining) res.setHeader('Connection', 'close');
    if (!state) return;
    state.active += 1;
    res.once('close', () => {
      state.active -= 1;
      state.served += 1;
      closeIfStillIdle(req.socket, state);
    });
  });

  return {
    async drain(timeoutMs, acceptors = []) {
      draining = true;
      const closing = (listener: NetServer) => new Promise<void>((resolve) => NetServer.prototype.close.call(listener, () => resolve()));
      const closed = Promise.all([server, ...acceptors].map(closing));
      for (const [socket, state] of connections) closeIfStillIdle(socket, state);
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
