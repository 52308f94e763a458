// The self-hosted playground in a real browser (Debian's Chromium through playwright-core), on the
// embedded default: it must load with no request leaving this machine and run the demo query, run the
// README's subscription over GraphQL over SSE with the headers editor's token (issue 32, row 1), and
// give a new tab that token too (row 2).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEMO_GRAPH_SLUG } from '../../src/database/seed.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { insertRun } from '../helpers/fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test/artifacts');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  console.warn(`SKIPPING the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

/** Debian's Chromium, headless, with nothing of its own going to the network. */
const launchChromium = () =>
  chromium.launch({
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
        browser = await launchChromium();
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

// The README's subscription (Live history), as a reader would paste it into the playground.
const README_SUBSCRIPTION = `subscription {
  migrationRunEvents(slug: "demo_knowledge") {
    cursor
    kind
    run { id status startedAt finishedAt error }
  }
}
`;

/** The Authorization the page pre-fills (its settings JSON), e.g. `Bearer ey…`. */
async function pageAuthorization(page: Page): Promise<string> {
  const settings = JSON.parse((await page.locator('#playground-settings').textContent()) ?? '{}') as { headers?: string };
  return (JSON.parse(settings.headers ?? '{}') as { Authorization?: string }).Authorization ?? '';
}

/**
 * Replaces the active tab's operation as a paste would (the text arrives in one input event, nothing
 * auto-closed or completed), then waits until GraphiQL has taken it in: it reads an edit's operation
 * (name, document) 100 ms after the last keystroke, and stores the text in the same step.
 */
async function replaceOperation(page: Page, text: string): Promise<void> {
  await page.locator('.graphiql-query-editor .CodeMirror').click({ timeout: 30_000 });
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  await page.waitForFunction((expected) => localStorage.getItem('graphiql:query') === expected, text, { timeout: 10_000 });
}

describe.skipIf(!hasChromium)('GraphQL playground in Chromium: subscriptions and tabs', () => {
  let service: Service;
  let database: TestDatabase;
  let browser: Browser;
  let graphId: string;
  beforeAll(async () => {
    // No demo activity: every run the subscription shows is one this test wrote.
    ({ service, database } = await startEmbedded({ DEMO_ACTIVITY_MS: '0' }));
    const graphs = await service.database.prisma.$queryRaw<{ id: string }[]>`SELECT id::text FROM graphs WHERE slug = ${DEMO_GRAPH_SLUG}`;
    graphId = graphs[0]!.id;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await database?.drop();
  });

  it("runs the README's subscription over GraphQL over SSE with the headers editor's token and shows each change of a run", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: Request[] = [];
    page.on('request', (request) => requests.push(request));
    // What the CSP refused, and the page's uncaught errors (the browser's own favicon 404 is neither).
    const problems: string[] = [];
    page.on('console', (message) => /Content Security Policy/i.test(message.text()) && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${service.url}/graphql`);
    const authorization = await pageAuthorization(page);
    expect(authorization).toMatch(/^Bearer ey/);
    await replaceOperation(page, README_SUBSCRIPTION);
    const result = page.locator('.result-window');
    const run = page.locator('.graphiql-execute-button');

    // The write must follow the subscription's stream: without `after`, only later changes are sent.
    const before = service.openStreams();
    await run.click();
    const until = Date.now() + 15_000;
    while (service.openStreams() <= before) {
      if (Date.now() > until)
        throw new Error(`the playground opened no subscription stream; its result pane shows: ${await result.innerText()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const id = await insertRun(service.database.prisma, graphId, {
      createdAt: new Date().toISOString(),
      status: 'pending',
      migrationId: 'playground_live_run',
    });
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain(`"id": "${id}"`);
    expect(await result.innerText()).toContain('"kind": "INSERTED"');
    await service.database.prisma
      .$executeRaw`UPDATE graph_migration_runs SET status = 'failed', error = 'disk full' WHERE id = ${id}::uuid`;
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain('"kind": "UPDATED"');
    const text = await result.innerText();
    expect(text).toContain(`"id": "${id}"`);
    expect(text).toContain('"status": "failed"');
    expect(text).toContain('"error": "disk full"');
    expect(text).not.toContain('"errors"');

    // One POST /graphql asking for an event stream, with the headers editor's Authorization.
    const origin = new URL(service.url).origin;
    const streams = [];
    for (const request of requests) {
      const headers = await request.allHeaders();
      if (request.url() === `${origin}/graphql` && headers.accept === 'text/event-stream')
        streams.push({ method: request.method(), headers });
    }
    expect(streams.map(({ method, headers }) => [method, headers.authorization])).toEqual([['POST', authorization]]);
    expect(requests.map((request) => request.url()).filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-subscription.png') });

    // The stop button ends the subscription's request, and with it the stream on the service.
    expect(await run.getAttribute('aria-label')).toBe('Stop query (Ctrl-Enter)');
    await run.click();
    await expect.poll(() => service.openStreams(), { timeout: 10_000 }).toBe(before);
    expect(await run.getAttribute('aria-label')).toBe('Execute query (Ctrl-Enter)');
    await page.close();
  }, 90_000);

  it('shows a refused subscription as the service answered it (its errors, not a network error), not retried', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const streams: string[] = [];
    page.on('request', (request) => request.headers().accept === 'text/event-stream' && streams.push(request.method()));
    await page.goto(`${service.url}/graphql`);
    await replaceOperation(page, `subscription { migrationRunEvents(slug: "${DEMO_GRAPH_SLUG}") { cursor nope } }`);
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await expect
      .poll(() => result.innerText(), { timeout: 15_000 })
      .toContain('Cannot query field \\"nope\\" on type \\"MigrationRunEvent\\"');
    expect(await result.innerText()).not.toContain('Server responded with');
    // Over and done with after one request (retried, the errors would show only after the last attempt, minutes later).
    await expect.poll(() => page.locator('.graphiql-execute-button').getAttribute('aria-label')).toBe('Execute query (Ctrl-Enter)');
    expect(streams).toEqual(['POST']);
    await page.close();
  }, 90_000);

  it('opens a new tab ("+") with the demo token in its headers editor, and runs a query with it there', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${service.url}/graphql`);
    const authorization = await pageAuthorization(page);
    expect(authorization).toMatch(/^Bearer ey/);
    const headersEditor = page.getByRole('region', { name: 'Headers' }).locator('.graphiql-editor:not(.hidden)');
    await expect.poll(() => headersEditor.innerText(), { timeout: 30_000 }).toContain(authorization);

    await page.getByRole('button', { name: 'Add tab' }).click();
    await expect.poll(() => page.locator('.graphiql-tab').count()).toBe(2);
    await expect.poll(() => headersEditor.innerText(), { timeout: 10_000 }).toContain(authorization);

    await replaceOperation(page, `{ graph(slug: "${DEMO_GRAPH_SLUG}") { name } }`);
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain('"name": "Demo knowledge graph"');
    expect(await result.innerText()).not.toContain('"errors"');
    await page.close();
  }, 90_000);
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
