// Graceful shutdown of the real process (`node --import tsx src/main.ts`) under load: SIGTERM while
// requests are in flight. Every request the server accepted completes with its answer; new
// connections are refused (ECONNREFUSED), never accepted and then broken; the process exits 0.
// Each worker keeps one keep-alive connection, as a gateway does, so "accepted" is unambiguous: a
// request sent on an open connection must get its whole answer; once the port is closed, a new
// connection is refused. (A connection attempted in the very instant the listening socket closes
// may sit in the kernel's accept queue and be reset by it, before the service ever sees it: load
// balancers stop sending before SIGTERM for that reason, and this test does not open such ones.)
// Then the deploy under load: 1,000 clients gone at once and SIGTERM at once logs no error.
import autocannon from 'autocannon';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/viewer.js';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID } from '../src/database/seed.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './helpers/databases.js';
import { startMain } from './helpers/mainProcess.js';
import { TEST_JWT_SECRET } from './helpers/service.js';

const WORKERS = 40;

type Outcome =
  | { kind: 'answered'; status: number; complete: boolean }
  | { kind: 'refused' }
  | { kind: 'broken'; error: string }
  | { kind: 'idleClosed' }
  | { kind: 'resetUnaccepted'; at: number };

/** One request, classified; `agent` false for a connection of its own. */
function request(port: number, path: string, token: string, agent: http.Agent | false = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let complete: boolean;
        try {
          complete = Array.isArray(JSON.parse(body));
        } catch {
          complete = false;
        }
        resolve({ kind: 'answered', status: res.statusCode ?? 0, complete });
      });
      res.on('error', (error) => resolve({ kind: 'broken', error: String(error) }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') return resolve({ kind: 'refused' });
      // Node's documented keep-alive race: the server closed an idle connection just as this request
      // was written on it, so the server never received it. Clients retry (Node's docs, undici, gateways).
      if (req.reusedSocket && error.code === 'ECONNRESET') return resolve({ kind: 'idleClosed' });
      // A new connection still in the kernel's accept queue when the listening socket closes is reset
      // by the kernel: the service never accepted it (its event loop was busy, as PGlite's in-thread
      // queries make it). Only legitimate once SIGTERM has been sent; checked below.
      if (!req.reusedSocket && error.code === 'ECONNRESET') return resolve({ kind: 'resetUnaccepted', at: Date.now() });
      resolve({ kind: 'broken', error: `${error.code}: ${error.message}` });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')));
  });
}

describe.each(DATABASE_KINDS)('SIGTERM under load on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database?.drop());

  it('lets every accepted request finish, refuses new connections, and exits 0', { timeout: 180_000 }, async () => {
    const { port, child, output, exited } = await startMain(database);
    try {
      const token = await signAccessToken(TEST_JWT_SECRET, { sub: DEMO_MEMBER_ID });
      const path = `/api/v1/graphs/${DEMO_GRAPH_SLUG}/migrations?limit=5`;
      const deadline = Date.now() + 90_000;
      for (;;) {
        const outcome = await request(port, path, token);
        if (outcome.kind === 'answered' && outcome.status === 200) break;
        if (Date.now() > deadline) throw new Error(`the service did not come up:\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }

      const outcomes: Outcome[] = [];
      let stopped = false;
      let idleClosed = 0;
      const workers = Array.from({ length: WORKERS }, async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          while (!stopped) {
            let outcome = await request(port, path, token, agent);
            if (outcome.kind === 'idleClosed') {
              idleClosed += 1;
              outcome = await request(port, path, token, agent);
            }
            outcomes.push(outcome);
            if (outcome.kind === 'refused' || outcome.kind === 'resetUnaccepted') return;
          }
        } finally {
          agent.destroy();
        }
      });
      // Load for a while, then SIGTERM with requests in flight.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const beforeSignal = outcomes.length;
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const exit = await Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 60 s:\n${output()}`)), 60_000)),
      ]);
      stopped = true;
      await Promise.all(workers);

      const answered = outcomes.filter((outcome) => outcome.kind === 'answered');
      const broken = outcomes.filter((outcome) => outcome.kind === 'broken');
      const refused = outcomes.filter((outcome) => outcome.kind === 'refused');
      const unaccepted = outcomes.filter((outcome) => outcome.kind === 'resetUnaccepted');
      console.log(
        `SIGTERM on ${kind}: ${beforeSignal} requests before the signal, ${answered.length} answered in all, ${refused.length} refused, ${unaccepted.length} reset before being accepted, ${broken.length} broken, ${idleClosed} retried after an idle keep-alive close`,
      );
      expect(exit, output()).toEqual({ code: 0, signal: null });
      expect(broken, JSON.stringify(broken.slice(0, 5))).toEqual([]);
      expect(answered.every((outcome) => outcome.kind === 'answered' && outcome.status === 200 && outcome.complete)).toBe(true);
      // Requests were in flight when the signal came, and each worker met the closed port at the end.
      expect(answered.length).toBeGreaterThan(beforeSignal);
      expect(unaccepted.every((outcome) => outcome.kind === 'resetUnaccepted' && outcome.at >= signalledAt)).toBe(true);
      expect(refused.length + unaccepted.length).toBe(WORKERS);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });

  // A deploy under load: 1,000 connections, then every client gone at once (autocannon closes them
  // all at its end) and SIGTERM right after. The requests they left are still being worked on (a
  // pool of 2 keeps most of them waiting for a connection): they run to their end, or meet a
  // closing database quietly, never a pool already ended, which logged an error with a stack each.
  it('ends the work of 1,000 clients that just left without an error line, and exits 0', { timeout: 120_000 }, async () => {
    const { port, child, output, exited } = await startMain(database, { LOG_LEVEL: 'info', DATABASE_POOL_SIZE: '2' });
    try {
      const token = await signAccessToken(TEST_JWT_SECRET, { sub: DEMO_MEMBER_ID });
      const path = `/api/v1/graphs/${DEMO_GRAPH_SLUG}/migrations?limit=100`;
      const deadline = Date.now() + 90_000;
      while ((await request(port, path, token)).kind !== 'answered') {
        if (Date.now() > deadline) throw new Error(`the service did not come up:\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await autocannon({
        url: `http://127.0.0.1:${port}${path}`,
        connections: 1_000,
        duration: 3,
        headers: { authorization: `Bearer ${token}` },
      });
      child.kill('SIGTERM');
      const exit = await Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 60 s:\n${output()}`)), 60_000)),
      ]);
      const errors = output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } })
        .filter((line) => line.level >= 50)
        .map((line) => `${line.msg}: ${line.err?.message ?? ''}`);
      expect(exit, output().slice(-2_000)).toEqual({ code: 0, signal: null });
      expect(errors.slice(0, 5), `${errors.length} error lines`).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});
