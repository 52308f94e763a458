// The self-hosted playground in a real browser (Debian's Chromium through playwright-core), on the
// embedded default: it must load with no request leaving this machine and run the demo query.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test/artifacts');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  console.warn(`SKIPPING the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

/** The embedded default (PGlite, demo data loaded on the first start) on a migrated copy of the run's template. */
async function startEmbedded(env: Record<string, string> = {}): Promise<{ service: Service; database: TestDatabase }> {
  const database = await createTestDatabase('pglite');
  const config = loadConfig({
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: database.dataDir,
    ...env,
  });
  return { service: await startService(config, createLogger('silent')), database };
}

describe('GraphQL playground', () => {
  let service: Service;
  let database: TestDatabase;
  beforeAll(async () => {
    ({ service, database } = await startEmbedded());
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('serves its page and bundle itself, with a strict CSP and the demo token', async () => {
    const response = await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('Bearer ey');
    const bundle = await fetch(`${service.url}/playground/playground.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
  });

  it('leaves GraphQL GET requests and JSON clients alone', async () => {
    const response = await fetch(`${service.url}/graphql?query=${encodeURIComponent('{__typename}')}`, {
      headers: { accept: 'text/html, application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it.skipIf(!hasChromium)(
    'runs the default query in Chromium and shows the demo runs, all over loopback',
    async () => {
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        });
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        const requested: string[] = [];
        page.on('request', (request) => requested.push(request.url()));
        await page.goto(`${service.url}/graphql`);
        await page.locator('.graphiql-execute-button').click({ timeout: 30_000 });
        const result = page.locator('.result-window');
        await expect.poll(() => result.innerText(), { timeout: 30_000 }).toContain('drop_legacy_labels');
        const text = await result.innerText();
        expect(text).toContain('"status": "pending"');
        expect(text).toContain('2026-05-06T11:00:00.000001Z');
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'playground.png') });

        const origin = new URL(service.url).origin;
        const outside = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'));
        expect(outside).toEqual([]);
        expect(requested.some((url) => url === `${origin}/graphql`)).toBe(true);
      } finally {
        await browser?.close();
      }
    },
    90_000,
  );
});

describe('GraphQL playground in production', () => {
  it('is off by default', async () => {
    const { service, database } = await startEmbedded({
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'production-secret-of-at-least-32-characters',
    });
    try {
      const response = await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(response.headers.get('content-type') ?? '').not.toMatch(/^text\/html/);
      expect((await fetch(`${service.url}/playground/playground.js`)).status).toBe(404);
    } finally {
      await service.close();
      await database.drop();
    }
  });
});
