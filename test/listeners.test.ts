// Where the listeners bind by default, what the start-up log says about it, and what a development
// start hands out to whoever reaches it (issue 19, section 5): the metrics listener stays on
// loopback unless METRICS_HOST opens it and its log line says where it listens; a development start
// embeds the demo member's token in the playground page only when its listener is loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service.js';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { recordingLogger, startTestService } from './helpers/service.js';

describe('the metrics listener', { timeout: 120_000 }, () => {
  it.each([
    ['by default', {}, '127.0.0.1', 'this machine only'],
    ['with METRICS_HOST=0.0.0.0', { METRICS_HOST: '0.0.0.0' }, '0.0.0.0', 'every host that reaches this address'],
  ])('logs the address it listens on (%s)', async (_name, env, address, reach) => {
    const { logger, lines } = recordingLogger();
    // HOST=0.0.0.0 for the public port: the metrics default does not follow it.
    const service = await startTestService('pglite', { logger, env: { HOST: '0.0.0.0', METRICS_PORT: '0', ...env } });
    try {
      const port = new URL(service.service.metricsUrl!).port;
      const line = lines.find((entry) => String(entry.msg).startsWith('metrics listening on'));
      expect(line?.listening).toBe(`${address}:${port}`);
      expect(line?.msg).toBe(`metrics listening on ${address}:${port} (${reach}): http://127.0.0.1:${port}/metrics`);
      expect((await fetch(service.service.metricsUrl!)).status).toBe(200);
    } finally {
      await service.close();
    }
  });
});

// Every start opens the same migrated embedded database (the tests' template).
describe('the development start on the network', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    dataDir = database.dataDir;
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function playgroundPage(env: Record<string, string>) {
    const { logger, lines } = recordingLogger();
    const config = loadConfig({
      NODE_ENV: 'development',
      PORT: '0',
      DATA_DIR: dataDir,
      SEED_ON_FIRST_START: 'false',
      PLAYGROUND_ENABLED: 'true',
      ...env,
    });
    const service = await startService(config, logger);
    try {
      const port = (service.server.address() as { port: number }).port;
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      return {
        host: config.host,
        page: await response.text(),
        warnings: lines.filter((line) => line.level === 40).map((line) => line.msg),
      };
    } finally {
      await service.close();
    }
  }

  it('listens on loopback by default, with the demo token in the playground page', async () => {
    const { host, page, warnings } = await playgroundPage({});
    expect(host).toBe('127.0.0.1');
    expect(page).toMatch(/"Authorization\\":\s*\\"Bearer ey/);
    expect(warnings).toEqual([]);
  });

  it('leaves the token out of the page when HOST opens it to the network, and says so', async () => {
    const { page, warnings } = await playgroundPage({ HOST: '0.0.0.0' });
    expect(page).toContain('playground-settings');
    expect(page).not.toContain('Bearer');
    expect(warnings).toEqual([
      'the playground page does not hold the demo token: HOST=0.0.0.0 serves it beyond this machine; paste a token into its headers editor',
    ]);
  });
});
