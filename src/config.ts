// Every environment variable the service reads, parsed and validated once. A bad configuration is
// reported as one error naming every offending variable, so an operator fixes them all in one go.
import { z } from 'zod';

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgresql:' || url.protocol === 'postgres:') && url.hostname !== '' && url.pathname.length > 1;
    } catch {
      return false;
    }
  },
  { message: 'must be a URL like postgresql://user:password@host:5432/database' },
);

const httpsOrLoopbackUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
    } catch {
      return false;
    }
  },
  { message: 'must be an https:// URL (http:// is accepted for localhost only)' },
);

const emptyAsUnset = (value: unknown) => (value === '' ? undefined : value);

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: integer(0, 65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  DATABASE_URL: z.preprocess(emptyAsUnset, postgresUrl.optional()),
  DATABASE_POOL_SIZE: integer(1, 1000).default(10),
  DATA_DIR: z.string().min(1).default('./.data'),
  MIGRATE_ON_START: booleanFlag.default(true),
  SEED_ON_FIRST_START: booleanFlag.optional(),
  AUTH_JWT_SECRET: z.preprocess(emptyAsUnset, z.string().min(32, { message: 'must be at least 32 characters (HS256 needs a 256-bit key)' }).optional()),
  AUTH_JWKS_URL: z.preprocess(emptyAsUnset, httpsOrLoopbackUrl.optional()),
  AUTH_ISSUER: z.preprocess(emptyAsUnset, z.string().optional()),
  AUTH_AUDIENCE: z.preprocess(emptyAsUnset, z.string().optional()),
  AUTH_CLOCK_TOLERANCE_SECONDS: integer(0, 300).default(5),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
});

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof environmentSchema>) {
  return {
    nodeEnv: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    database: env.DATABASE_URL
      ? { kind: 'postgres' as const, url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE }
      : { kind: 'pglite' as const, dataDir: env.DATA_DIR },
    dataDir: env.DATA_DIR,
    migrateOnStart: env.MIGRATE_ON_START,
    // Demo data belongs to the embedded default; on a real PostgreSQL it is opt-in.
    seedOnFirstStart: env.SEED_ON_FIRST_START ?? !env.DATABASE_URL,
    auth: {
      jwtSecret: env.AUTH_JWT_SECRET,
      jwksUrl: env.AUTH_JWKS_URL,
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      clockToleranceSeconds: env.AUTH_CLOCK_TOLERANCE_SECONDS,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  };
}

const SECRET_VARIABLES = new Set(['DATABASE_URL', 'AUTH_JWT_SECRET']);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        // Values that may hold credentials are never echoed into logs.
        const shown = SECRET_VARIABLES.has(name) ? '' : `=${JSON.stringify(env[name] ?? '')}`;
        return `${name}${shown}: ${issue.message}`;
      });
  // Checked on the raw values as well, so one bad variable does not hide these from the same report.
  problems.push(...authenticationProblems(env));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return toConfig(parsed.data);
}

function authenticationProblems(env: NodeJS.ProcessEnv): string[] {
  const isSet = (name: string) => (env[name] ?? '') !== '';
  const problems: string[] = [];
  if (isSet('AUTH_JWT_SECRET') && isSet('AUTH_JWKS_URL')) {
    problems.push('AUTH_JWT_SECRET and AUTH_JWKS_URL are both set: choose one way to verify tokens');
  }
  if (env.NODE_ENV === 'production' && !isSet('AUTH_JWT_SECRET') && !isSet('AUTH_JWKS_URL')) {
    problems.push('NODE_ENV=production requires AUTH_JWT_SECRET or AUTH_JWKS_URL: the service never runs unauthenticated in production');
  }
  return problems;
}
