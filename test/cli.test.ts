// The command-line tools a newcomer runs, as processes: `npm run token` (src/cli/token.ts) signs a
// token the service accepts with the secret it verifies with; `db:seed` (src/cli/database.ts) says whether
// it loaded the demo data or found it there; the db CLI's usage line names the npm scripts.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DEMO_MEMBER_ID } from '../src/database/seed.js';
import { createLogger } from '../src/observability/logger.js';
import { startService, type Service } from '../src/service.js';
import { TEST_JWT_SECRET } from './helpers/service.js';

const run = promisify(execFile);

async function tool(script: string, args: string[], env: Record<string, string>) {
  const { PATH, HOME } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, ...args], {
      env: { PATH, HOME, LOG_LEVEL: 'info', ...env },
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const messages = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);

describe('command-line tools', { timeout: 400_000 }, () => {
  let dataDir: string;
  let service: Service;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gms-cli-'));
  });
  afterAll(async () => {
    await service?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('db cli: names the npm scripts in its usage line, not tsx', async () => {
    const { code, stderr } = await tool('src/cli/database.ts', [], { DATA_DIR: dataDir });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('usage: npm run db:migrate | npm run db:seed (compiled: node dist/cli/database.js migrate|seed)');
  });

  it('db:seed says it loaded the demo data, and the second time that nothing was loaded', async () => {
    const first = await tool('src/cli/database.ts', ['seed'], { DATA_DIR: dataDir });
    expect(first.code, first.stderr).toBe(0);
    expect(messages(first.stdout)).toContain('demo data loaded: 4 graphs, 3 memberships, 13 runs (graph demo_knowledge)');
    const second = await tool('src/cli/database.ts', ['seed'], { DATA_DIR: dataDir });
    expect(second.code, second.stderr).toBe(0);
    expect(messages(second.stdout)).toContain('demo data already present: nothing loaded (graph demo_knowledge)');
  });

  it('npm run token signs with the development secret a service on the same DATA_DIR accepts, superuser or not', async () => {
    service = await startService(
      loadConfig({ NODE_ENV: 'development', PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, PLAYGROUND_ENABLED: 'false' }),
      createLogger('silent'),
    );
    const member = await tool('src/cli/token.ts', [], { DATA_DIR: dataDir });
    expect(member.code, member.stderr).toBe(0);
    expect(member.stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(member.stderr).toContain(`"sub":"${DEMO_MEMBER_ID}"`);
    const superuser = await tool('src/cli/token.ts', ['--superuser', '--expires', '10m'], { DATA_DIR: dataDir });
    expect(superuser.stderr).toContain('"is_superuser":true');

    const get = (route: string, token: string) =>
      fetch(`${service.url}${route}`, { headers: { authorization: `Bearer ${token.trim()}` } }).then((response) => response.status);
    expect(await get('/api/v1/graphs/demo_knowledge/migrations?limit=1', member.stdout)).toBe(200);
    expect(await get('/api/v1/migrations?limit=1', member.stdout)).toBe(403);
    expect(await get('/api/v1/migrations?limit=1', superuser.stdout)).toBe(200);
  });

  it('npm run token signs with AUTH_JWT_SECRET when set, and refuses bad options with its usage', async () => {
    const signed = await tool('src/cli/token.ts', ['--sub', 'someone'], { DATA_DIR: dataDir, AUTH_JWT_SECRET: TEST_JWT_SECRET });
    expect(signed.code).toBe(0);
    expect(signed.stderr).toContain('HS256 with AUTH_JWT_SECRET');
    expect(signed.stderr).toContain('"sub":"someone"');
    const bad = await tool('src/cli/token.ts', ['--expires', 'soon'], { DATA_DIR: dataDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--expires soon: use 15m, 1h, 30d or seconds');
    expect(bad.stderr).toContain('usage: npm run token');
    expect(bad.stdout).toBe('');
  });
});
