// Authorization header → Viewer. The one module that verifies tokens (jose): HS256 with a shared
// secret, or RS256/ES256 against a JWKS URL. Algorithms are pinned per key type so neither `none`
// nor an HS/RS confusion can pass, and a token must carry `sub` and `exp`.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { Tracing } from '../observability/tracing.js';

export type Viewer =
  | { kind: 'anonymous' }
  | { kind: 'invalid' }
  /** `expiresAt`: when the token stops being valid (its `exp` plus the clock tolerance), ms since the epoch; absent: never. */
  | { kind: 'user'; id: string; isSuperuser: boolean; expiresAt?: number };

export type User = Extract<Viewer, { kind: 'user' }>;

export interface AuthSettings {
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
}

export type Authenticate = (authorization: string | undefined) => Promise<Viewer>;

const VERIFIED_TOKENS_MAX = 10_000;
const VERIFIED_TOKEN_TTL_MS = 60_000;
const BEARER = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i;

/** `tracing`: a span for each verification the cache does not answer (src/observability/tracing.ts). */
export function createAuthenticator(settings: AuthSettings, tracing?: Tracing): Authenticate {
  let key: KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  if (settings.jwtSecret) {
    // A KeyObject made once: given raw bytes, jose would import a WebCrypto key on every request.
    key = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
    algorithms = ['HS256'];
  } else if (settings.jwksUrl) {
    // jose caches the key set and refetches it when a token names an unknown key id (rotation).
    key = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    algorithms = ['RS256', 'ES256'];
  } else {
    throw new Error('authentication needs a JWT secret or a JWKS URL');
  }
  const options = {
    algorithms,
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceSeconds,
    requiredClaims: ['sub', 'exp'],
  };

  // Clients send the same token with every request, and signature checks are the costliest step
  // of a small request: a token verified once is remembered until it expires, for at most a minute
  // (so a key removed from the JWKS stops being honoured soon), in a bounded map.
  const verified = new Map<string, { viewer: User; validUntil: number }>();

  return async (authorization) => {
    // As FastAPI's HTTPBearer: no header, or another scheme, is "not authenticated".
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (!token) return { kind: 'anonymous' };
    const now = Date.now();
    const remembered = verified.get(token);
    if (remembered && remembered.validUntil > now) return remembered.viewer;
    verified.delete(token);
    try {
      const verify = () => jwtVerify(token, key as KeyObject, options);
      const { payload } = await (tracing ? tracing.span('verify access token', verify) : verify());
      if (typeof payload.sub !== 'string' || payload.sub === '') return { kind: 'invalid' };
      const expiresAt = (payload.exp! + settings.clockToleranceSeconds) * 1000;
      const viewer: User = { kind: 'user', id: payload.sub, isSuperuser: payload.is_superuser === true, expiresAt };
      if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, { viewer, validUntil: Math.min(expiresAt, now + VERIFIED_TOKEN_TTL_MS) });
      return viewer;
    } catch {
      return { kind: 'invalid' };
    }
  };
}

/** Signs an HS256 access token: the development token, tests and the benchmark use it. */
export async function signAccessToken(
  secret: string,
  claims: { sub: string; isSuperuser?: boolean; expiresIn?: string | number; issuer?: string; audience?: string },
): Promise<string> {
  const jwt = new SignJWT(claims.isSuperuser ? { is_superuser: true } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? '1h');
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
