// `npm run token`: a bearer token the service accepts, signed with the secret it verifies with
// (AUTH_JWT_SECRET, or the development secret in DATA_DIR), for trying routes by hand. The token
// alone goes to stdout (TOKEN=$(npm run -s token -- --superuser)); what it carries, to stderr.
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config.js';
import { DEMO_MEMBER_ID } from '../database/seed.js';
import { loadOrCreateDevelopmentSecret } from '../auth/developmentSecret.js';
import { signAccessToken } from '../auth/viewer.js';

const USAGE = `usage: npm run token -- [--sub <user id>] [--superuser] [--expires <1h | 30d | seconds>]
  --sub        the user id (the token's sub claim); default: the demo member, ${DEMO_MEMBER_ID}
  --superuser  adds is_superuser: true (GET /api/v1/migrations, Query.migrationRuns)
  --expires    lifetime, as jose reads it (15m, 1h, 30d) or seconds; default 1h
Signs HS256 with AUTH_JWT_SECRET, or without it the development secret in DATA_DIR (./.data/dev-jwt-secret),
and sets iss / aud from AUTH_ISSUER / AUTH_AUDIENCE when they are set.`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let options: { sub?: string; superuser?: boolean; expires?: string; help?: boolean };
try {
  ({ values: options } = parseArgs({
    options: {
      sub: { type: 'string' },
      superuser: { type: 'boolean' },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
if (options.sub === '') fail('--sub must not be empty');
if (options.expires !== undefined && !/^\d+$|^\d+\s*[a-z]+$/i.test(options.expires))
  fail(`--expires ${options.expires}: use 15m, 1h, 30d or seconds`);

const config = loadConfigOrExit();
if (!config.auth.jwtSecret && config.auth.jwksUrl) {
  fail('AUTH_JWKS_URL is set: the service verifies RS256/ES256 tokens from your identity provider, which this script cannot sign');
}
const secret = config.auth.jwtSecret ?? loadOrCreateDevelopmentSecret(config.dataDir);
const sub = options.sub ?? DEMO_MEMBER_ID;
const expires = options.expires === undefined ? '1h' : /^\d+$/.test(options.expires) ? `${options.expires}s` : options.expires;
let token: string;
try {
  token = await signAccessToken(secret, {
    sub,
    isSuperuser: options.superuser,
    expiresIn: expires,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
} catch (error) {
  fail(`--expires ${options.expires}: ${(error as Error).message}`);
}
console.log(token);
const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
console.error(
  `HS256 with ${config.auth.jwtSecret ? 'AUTH_JWT_SECRET' : `the development secret in ${config.dataDir}`}; claims ${JSON.stringify(claims)}`,
);
