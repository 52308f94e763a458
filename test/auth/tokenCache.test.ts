// The authenticator remembers verified tokens; remembering must never outlive a token's expiry.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuthenticator, signAccessToken } from '../../src/auth/viewer.js';

const SECRET = 'token-cache-secret-of-at-least-32-characters';

describe('remembered tokens', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a repeated token the same way, and rejects it once it has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T12:00:00Z'));
    const authenticate = createAuthenticator({ jwtSecret: SECRET, clockToleranceSeconds: 0 });
    const token = await signAccessToken(SECRET, { sub: 'user-1', expiresIn: '30s' });

    const first = await authenticate(`Bearer ${token}`);
    expect(first).toMatchObject({ kind: 'user', id: 'user-1', isSuperuser: false });
    expect(await authenticate(`Bearer ${token}`)).toEqual(first);

    vi.setSystemTime(new Date('2026-06-01T12:00:29Z'));
    expect(await authenticate(`Bearer ${token}`)).toEqual(first);
    vi.setSystemTime(new Date('2026-06-01T12:00:31Z'));
    expect(await authenticate(`Bearer ${token}`)).toEqual({ kind: 'invalid' });
  });

  it('never remembers a token that failed verification: it is verified again, and passes once valid', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T12:00:00Z'));
    const authenticate = createAuthenticator({ jwtSecret: SECRET, clockToleranceSeconds: 0 });
    // Not valid before 12:00:10: refused now, accepted later, which only a fresh verification can tell.
    const notYetValid = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-1')
      .setNotBefore(Math.floor(Date.parse('2026-06-01T12:00:10Z') / 1000))
      .setExpirationTime(Math.floor(Date.parse('2026-06-01T12:05:00Z') / 1000))
      .sign(new TextEncoder().encode(SECRET));
    expect(await authenticate(`Bearer ${notYetValid}`)).toEqual({ kind: 'invalid' });
    expect(await authenticate(`Bearer ${notYetValid}`)).toEqual({ kind: 'invalid' });
    vi.setSystemTime(new Date('2026-06-01T12:00:11Z'));
    expect(await authenticate(`Bearer ${notYetValid}`)).toMatchObject({ kind: 'user', id: 'user-1', isSuperuser: false });
  });
});
