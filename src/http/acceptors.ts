// More than one accepting handle on the listening socket (docs/decisions/0007). Node 20's libuv
// accepts one connection each time the event loop finds the listening socket readable, so an
// instance whose turns carry tens of milliseconds of answers accepts 15 to 30 connections a second,
// and a burst of new connections (or a health probe's) waits in the kernel's accept queue into the
// clients' timeouts, whatever the in-flight bound refuses. Each extra handle is another file
// descriptor of the same socket, registered with the event loop on its own, so a turn accepts up to
// one connection per handle. The descriptors come from the kernel's descriptor passing
// (SCM_RIGHTS): a short-lived helper process receives the listening handle over Node's IPC channel
// and sends it back as many times as asked; each copy arrives as a new descriptor of ours. (Node
// 22.12's `reusePort` would give the same with separate sockets; our floor is Node 20.)
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '../logger.js';

// Runs in the helper: sends the handle it receives back `copies` times, then exits. `net.Native`
// (a raw TCP handle, which is what a listening server's `_handle` is) is neither listened on nor
// read by the helper, so it never accepts a connection itself. `on`, not `once`: Node sends one
// handle at a time, each after the other side's acknowledgement, and an IPC channel without a
// 'message' listener no longer keeps the helper alive for those.
const HELPER = `process.on('message', ({ copies }, handle) => {
  for (let i = 0; i < copies; i++) process.send('copy', handle);
  process.send('done', () => { handle.close(); process.disconnect(); });
});`;
const HELPER_TIMEOUT_MS = 5_000;

/** What Node's IPC channel can send: the listening socket's handle (a `TCP` wrap). */
interface ListeningHandle {
  close(): void;
}

function copiesOf(handle: ListeningHandle, copies: number): Promise<ListeningHandle[]> {
  return new Promise((resolve, reject) => {
    const received: ListeningHandle[] = [];
    const helper = spawn(process.execPath, ['-e', HELPER], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Not the service's NODE_OPTIONS (a loader, a heap size): the helper is plain JavaScript.
      env: { PATH: process.env.PATH ?? '' },
    });
    let stderr = '';
    helper.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const copy of received) copy.close();
      helper.kill();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${HELPER_TIMEOUT_MS} ms`)), HELPER_TIMEOUT_MS);
    helper.once('error', fail);
    // Done once the helper has exited, not when its last copy arrives: until then its own descriptor
    // keeps the socket listening, and a drain would leave it accepting into a queue nobody reads.
    // 'close' comes after every message the helper sent has been handled.
    helper.once('close', (code) => {
      if (received.length < copies)
        return fail(new Error(`the helper exited (${code}) after ${received.length} of ${copies} copies: ${stderr.trim()}`));
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(received);
    });
    helper.on('message', (message: unknown, copy?: ListeningHandle) => {
      if (message !== 'copy' || !copy) return;
      if (settled) copy.close();
      else received.push(copy);
    });
    helper.send({ copies }, handle as never);
  });
}

/**
 * Adds `handles - 1` accepting handles to a listening `server` and returns them (to close with it:
 * src/http/drain.ts); the connections they accept are the server's ('connection', timeouts). On failure (a platform without
 * descriptor passing, no process spawning) the server keeps its one handle and a warning says so.
 */
export async function addAcceptors(server: Server, handles: number, backlog: number, logger: Logger): Promise<NetServer[]> {
  const own = (server as unknown as { _handle?: ListeningHandle })._handle;
  if (handles <= 1 || !own) return [];
  let copies: ListeningHandle[];
  try {
    copies = await copiesOf(own, handles - 1);
  } catch (error) {
    logger.warn({ err: error }, `accepting on one handle only: duplicating the listening socket failed (${(error as Error).message})`);
    return [];
  }
  return copies.map((copy) => {
    const extra = new NetServer();
    extra.on('connection', (socket: Socket) => server.emit('connection', socket));
    extra.on('error', (error) => logger.error({ err: error }, 'an extra accepting handle failed'));
    // listen(2) again on the shared socket: without the backlog Node would set its default, 511.
    extra.listen(copy, backlog);
    return extra;
  });
}
