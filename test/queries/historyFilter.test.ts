// The filter codec both doors share (src/queries/historyFilter.ts) and the cursor's binding to it
// (src/domain/cursor.ts): RFC 3339 in, the database's microsecond text out, one canonical form per
// filter, and a cursor that only continues the list it was issued for.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/domain/cursor.js';
import {
  checkHistoryFilter,
  filterKey,
  HISTORY_FILTER_LIMITS,
  NO_FILTER,
  parseTimestamp,
  statusesArray,
  statusesParameter,
  type HistoryFilter,
  type HistoryFilterInput,
} from '../../src/queries/historyFilter.js';
import { pageStart } from '../../src/queries/migrationRuns.js';

function checked(input: HistoryFilterInput): HistoryFilter {
  const result = checkHistoryFilter(input);
  if (!result.ok) throw new Error(result.reason);
  return result.filter;
}

const POSITION = { createdAt: '2026-05-31T23:59:59.123456Z', id: '0a6b9e0c-0000-4000-8000-000000000007' };

describe('parseTimestamp', () => {
  it.each([
    ['2026-04-17T21:25:43.123456Z', '2026-04-17T21:25:43.123456Z'],
    ['2026-04-17T21:25:43Z', '2026-04-17T21:25:43.000000Z'],
    ['2026-04-17t21:25:43.5z', '2026-04-17T21:25:43.500000Z'],
    ['2026-04-17T23:25:43.000001+02:00', '2026-04-17T21:25:43.000001Z'],
    ['2026-04-17T00:25:43.999999-05:30', '2026-04-17T05:55:43.999999Z'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00.000000Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000000Z'],
    ['0050-03-01T00:00:00Z', '0050-03-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
  ])('reads %s as %s', (text, expected) => {
    expect(parseTimestamp(text)).toEqual({ ok: true, timestamp: expected });
  });

  it.each([
    ['a date without a time', '2026-04-17', /not an RFC 3339 date-time/],
    ['a space instead of T', '2026-04-17 21:25:43Z', /not an RFC 3339 date-time/],
    ['no offset', '2026-04-17T21:25:43.123456', /not an RFC 3339 date-time/],
    ['nanoseconds', '2026-04-17T21:25:43.123456789Z', /more precise than a microsecond/],
    ['February 30', '2026-02-30T00:00:00Z', /not a real date and time/],
    ['February 29 of a common year', '2026-02-29T00:00:00Z', /not a real date and time/],
    ['hour 24', '2026-05-31T24:00:00Z', /not a real date and time/],
    ['a leap second', '2026-12-31T23:59:60Z', /not a real date and time/],
    ['an offset of 24 hours', '2026-04-17T21:25:43+24:00', /impossible offset/],
    ['an instant after 9999 in UTC', '9999-12-31T23:59:59-01:00', /outside the years 0001 to 9999/],
    ['an instant before 0001 in UTC', '0001-01-01T00:30:00+01:00', /outside the years 0001 to 9999/],
    ['empty', '', /not an RFC 3339 date-time/],
  ])('refuses %s, saying why and what is expected', (_what, text, reason) => {
    const parsed = parseTimestamp(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toMatch(reason);
    expect(parsed.reason).toMatch(/expected an RFC 3339 date-time such as 2026-04-17T21:25:43\.123456Z/);
  });

  it('reads any instant written with any offset as the same microsecond', () => {
    // Milliseconds and the microseconds below them apart: microseconds since year 1 exceed 2^53.
    const instants = fc.tuple(
      fc.integer({ min: Date.parse('0001-01-02T00:00:00Z'), max: Date.parse('9999-12-30T00:00:00Z') }),
      fc.integer({ min: 0, max: 999 }),
    );
    const offsets = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    const text = (millis: number, micros: number) => `${new Date(millis).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}`;
    fc.assert(
      fc.property(instants, offsets, ([millis, micros], offsetMinutes) => {
        const canonical = `${text(millis, micros)}Z`;
        const sign = offsetMinutes < 0 ? '-' : '+';
        const offset = `${sign}${String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0')}:${String(Math.abs(offsetMinutes) % 60).padStart(2, '0')}`;
        expect(parseTimestamp(canonical)).toEqual({ ok: true, timestamp: canonical });
        expect(parseTimestamp(`${text(millis + offsetMinutes * 60_000, micros)}${offset}`)).toEqual({ ok: true, timestamp: canonical });
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('checkHistoryFilter', () => {
  it('is NO_FILTER when nothing filters', () => {
    expect(checked({})).toBe(NO_FILTER);
    expect(checked({ statuses: null, since: null, until: null })).toBe(NO_FILTER);
    expect(filterKey(NO_FILTER)).toBe('');
  });

  it('puts statuses and timestamps in one canonical form', () => {
    const a = checked({ statuses: ['running', 'failed', 'running'], since: '2026-04-17T23:25:43.5+02:00' });
    const b = checked({ statuses: ['failed', 'running'], since: '2026-04-17T21:25:43.500000Z' });
    expect(a).toEqual({ statuses: ['failed', 'running'], since: '2026-04-17T21:25:43.500000Z' });
    expect(filterKey(a)).toBe(filterKey(b));
  });

  it('tells apart filters that select different runs', () => {
    const keys = [
      {},
      { statuses: [] },
      { statuses: ['failed'] },
      { statuses: ['failed', 'running'] },
      { since: '2026-01-01T00:00:00Z' },
      { until: '2026-01-01T00:00:00Z' },
      { since: '2026-01-01T00:00:00Z', until: '2026-01-01T00:00:00.000001Z' },
    ].map((input) => filterKey(checked(input)));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps an empty status list: it selects no run, unlike no list', () => {
    expect(checked({ statuses: [] })).toEqual({ statuses: [] });
    expect(statusesArray(checked({ statuses: [] }))).toEqual([]);
    expect(statusesArray(NO_FILTER)).toBeNull();
  });

  it('binds statuses PostgreSQL text cannot hold as nothing, still a list', () => {
    const filter = checked({ statuses: ['fa\u0000iled', 'failed'] });
    expect(statusesArray(filter)).toEqual(['failed']);
    expect(statusesParameter(checked({ statuses: ['\u0000'] }))).toBe('[]');
  });

  it('refuses since later than until, naming since and both values', () => {
    const result = checkHistoryFilter({ since: '2026-06-02T00:00:00Z', until: '2026-06-01T00:00:00Z' });
    expect(result).toMatchObject({ ok: false, field: 'since' });
    if (result.ok) return;
    expect(result.reason).toBe(
      'since (2026-06-02T00:00:00.000000Z) is later than until (2026-06-01T00:00:00.000000Z): pass a since at or before until (since is inclusive, until exclusive), or leave one of them out',
    );
  });

  it('accepts since equal to until (an empty window) and one microsecond apart', () => {
    expect(checkHistoryFilter({ since: '2026-06-01T00:00:00Z', until: '2026-06-01T00:00:00.000000Z' }).ok).toBe(true);
    expect(checkHistoryFilter({ since: '2026-06-01T00:00:00.000001Z', until: '2026-06-01T00:00:00Z' }).ok).toBe(false);
  });

  it('names the timestamp at fault', () => {
    expect(checkHistoryFilter({ until: 'yesterday' })).toMatchObject({ ok: false, field: 'until' });
    expect(checkHistoryFilter({ since: '2026-02-30T00:00:00Z' })).toMatchObject({ ok: false, field: 'since' });
  });

  it(`refuses more than ${HISTORY_FILTER_LIMITS.maxStatuses} distinct statuses, counting repeats once`, () => {
    const many = Array.from({ length: HISTORY_FILTER_LIMITS.maxStatuses + 1 }, (_, i) => `s${i}`);
    expect(checkHistoryFilter({ statuses: many })).toMatchObject({ ok: false, field: 'status' });
    expect(checkHistoryFilter({ statuses: [...many.slice(1), ...many.slice(1)] }).ok).toBe(true);
  });
});

describe('pageStart', () => {
  it('starts at the position, or at until when that is older: created_at < until is (created_at, id) < (until, nil uuid)', () => {
    const nil = '00000000-0000-0000-0000-000000000000';
    expect(pageStart({ limit: 1 })).toBeUndefined();
    expect(pageStart({ limit: 1, after: POSITION })).toEqual(POSITION);
    expect(pageStart({ limit: 1, filter: checked({ until: '2026-06-01T00:00:00Z' }) })).toEqual({
      createdAt: '2026-06-01T00:00:00.000000Z',
      id: nil,
    });
    expect(pageStart({ limit: 1, after: POSITION, filter: checked({ until: '2026-06-01T00:00:00Z' }) })).toEqual(POSITION);
    expect(pageStart({ limit: 1, after: POSITION, filter: checked({ until: '2026-05-31T23:59:59.123456Z' }) })).toEqual({
      createdAt: POSITION.createdAt,
      id: nil,
    });
  });
});

describe('cursor binding', () => {
  const payload = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));

  it('keeps the version 1 cursor for unfiltered pages, so cursors issued before filters still work', () => {
    const cursor = encodeCursor(POSITION);
    expect(payload(cursor)).toEqual({ v: 1, t: POSITION.createdAt, i: POSITION.id });
    expect(encodeCursor(POSITION, NO_FILTER)).toBe(cursor);
    expect(decodeCursor(cursor)).toEqual({ ok: true, position: POSITION });
  });

  it('binds a filtered page to its filter with a fingerprint (version 2), well under the length limit', () => {
    const filter = checked({ statuses: Array.from({ length: 10 }, (_, i) => `status_number_${i}`), since: '2026-01-01T00:00:00Z' });
    const cursor = encodeCursor(POSITION, filter);
    expect(payload(cursor)).toEqual({ v: 2, t: POSITION.createdAt, i: POSITION.id, f: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) });
    expect(cursor.length).toBeLessThan(160);
    expect(decodeCursor(cursor, filter)).toEqual({ ok: true, position: POSITION });
    // The same filter written another way is the same filter.
    const same = checked({
      statuses: [...(filter.statuses ?? [])].reverse(),
      since: '2026-01-01T01:00:00+01:00',
    });
    expect(decodeCursor(cursor, same)).toEqual({ ok: true, position: POSITION });
  });

  it.each([
    ['no filter', {}],
    ['another status', { statuses: ['running'] }],
    ['one more status', { statuses: ['failed', 'running'] }],
    ['no status list', { since: '2026-01-01T00:00:00Z' }],
    ['another since', { statuses: ['failed'], since: '2026-01-01T00:00:00.000001Z' }],
    ['an until added', { statuses: ['failed'], since: '2026-01-01T00:00:00Z', until: '2027-01-01T00:00:00Z' }],
  ])('refuses a filtered cursor used with %s, saying how to fix it', (_what, other) => {
    const cursor = encodeCursor(POSITION, checked({ statuses: ['failed'], since: '2026-01-01T00:00:00Z' }));
    const decoded = decodeCursor(cursor, checked(other));
    expect(decoded).toEqual({
      ok: false,
      filterMismatch: true,
      reason:
        'Invalid cursor: it was issued for other filters (status, since, until) than this request has; repeat the filters of the request that returned the cursor, or omit the cursor to start from the newest run',
    });
  });

  it('refuses an unfiltered cursor used with a filter', () => {
    expect(decodeCursor(encodeCursor(POSITION), checked({ statuses: [] }))).toMatchObject({ ok: false, filterMismatch: true });
  });

  it.each([
    ['version 2 without a fingerprint', { v: 2, t: POSITION.createdAt, i: POSITION.id }],
    ['version 2 with a fingerprint of another shape', { v: 2, t: POSITION.createdAt, i: POSITION.id, f: 'short' }],
    ['version 1 with a fingerprint', { v: 1, t: POSITION.createdAt, i: POSITION.id, f: 'AAAAAAAAAAAAAAAA' }],
    ['version 3', { v: 3, t: POSITION.createdAt, i: POSITION.id }],
  ])('refuses %s as malformed, not as a filter mismatch', (_what, body) => {
    const decoded = decodeCursor(Buffer.from(JSON.stringify(body)).toString('base64url'));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.filterMismatch).toBeUndefined();
    expect(decoded.reason).toMatch(/^Invalid cursor: .*; pass the endCursor/);
  });
});
