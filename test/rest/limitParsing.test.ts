// `limit` read exactly as the replaced FastAPI service read it: pydantic 2's lax `int` from a query
// string, then `ge=1, le=500`. The rules are pydantic-core's own (2.41.5, src/input/shared.rs:
// `str_as_int`, `clean_int_str`, `strip_leading_zeros`, `strip_underscores`; jiter 0.11.1's
// `NumberInt::try_from` in crates/jiter/src/number_decoder.rs), one row per rule and per edge of it,
// each naming where it comes from. Every row is sent over HTTP to the REST route and its answer
// compared byte for byte: a 200 whose page and next-page link carry the parsed limit, or FastAPI's
// 422 with the raw query text as `input`. Where Python and pydantic-core are installed, the table
// itself is checked against pydantic (`TypeAdapter(Annotated[int, Field(ge=1, le=500)])`).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { get, limitError, MIGRATIONS, type LimitErrorType } from './support.js';

type Outcome = number | LimitErrorType;

interface Row {
  /** The value the server decodes from the query string. */
  raw: string;
  /** The query text after `limit=`, when not `encodeURIComponent(raw)` (what URL decoding does). */
  query?: string;
  expected: Outcome;
  rule: string;
}

const JSON_INT = 'jiter NumberInt::try_from: the text is a JSON integer';
const TRIM = 'clean_int_str: s.trim() strips Unicode White_Space (Rust char::is_whitespace)';
const NOT_TRIMMED = 'clean_int_str: s.trim() strips only Unicode White_Space; this character is not, so the text is no integer';
const PLUS = "clean_int_str: one leading '+' is dropped";
const SIGNS = "clean_int_str: '+-', '--' and '-+' are refused";
const ZEROS = 'strip_leading_zeros: leading zeros (and underscores among them) go before the first other digit';
const ZERO_KEPT = 'strip_leading_zeros: an all-zero text keeps its last character';
const ZERO_MINUS = "strip_leading_zeros: a '-' after the leading zeros starts the rest of the number";
const FIRST_CHAR = 'strip_leading_zeros: the text (after the sign) must start with a digit';
const UNDERSCORES = "strip_underscores: single '_' between digits are removed";
const BAD_UNDERSCORES = "strip_underscores: a leading, trailing or doubled '_' is refused";
const DECIMAL_ZEROS = "clean_int_str: a fraction of zeros after the first '.' is dropped";
const NOT_DECIMAL_ZEROS = "clean_int_str: only a non-empty fraction of zeros is dropped; anything else after '.' is no integer";
const NOT_INT = 'str_as_int: neither the text nor its cleaned form is a JSON integer';
const SIZE = 'jiter: a [-][1-9] digit run over 4300 characters is NumberOutOfRange → int_parsing_size (checked before what follows it)';
const SIZE_CLEANED = 'str_as_int: the cleaned text is read again, and any failure there, too long included, is int_parsing';
const RANGE = 'constrained int: le=500 then ge=1, on the parsed value';
const STARLETTE = 'Starlette parse_qsl: the query string is form-decoded before pydantic sees it';

const ones = (count: number) => '1'.repeat(count);

const ROWS: Row[] = [
  { raw: '5', expected: 5, rule: JSON_INT },
  { raw: '1', expected: 1, rule: `${JSON_INT}; ${RANGE}: the minimum` },
  { raw: '500', expected: 500, rule: `${JSON_INT}; ${RANGE}: the maximum` },
  { raw: '0', expected: 'greater_than_equal', rule: `${JSON_INT}; ${RANGE}` },
  { raw: '-5', expected: 'greater_than_equal', rule: `${JSON_INT}; ${RANGE}` },
  { raw: '-0', expected: 'greater_than_equal', rule: `${JSON_INT} (JSON allows -0); ${RANGE}` },
  { raw: '501', expected: 'less_than_equal', rule: `${JSON_INT}; ${RANGE}` },
  { raw: '9'.repeat(400), expected: 'less_than_equal', rule: `${JSON_INT} (a big integer); ${RANGE}` },

  { raw: ' 5 ', expected: 5, rule: TRIM },
  { raw: '\t5\r\n', expected: 5, rule: TRIM },
  { raw: '\v5\f', expected: 5, rule: TRIM },
  { raw: '5\u00a0', expected: 5, rule: `${TRIM}: U+00A0` },
  { raw: '5\u0085', expected: 5, rule: `${TRIM}: U+0085 (not in JavaScript's \\s)` },
  { raw: '\u30005\u2028', expected: 5, rule: `${TRIM}: U+3000, U+2028` },
  { raw: ' 0 ', expected: 'greater_than_equal', rule: `${TRIM}; ${RANGE}` },
  { raw: ' ', expected: 'int_parsing', rule: `${TRIM}, then ${FIRST_CHAR}` },
  { raw: '5\ufeff', expected: 'int_parsing', rule: `${NOT_TRIMMED}: U+FEFF (JavaScript's trim takes it)` },
  { raw: '\u200b5', expected: 'int_parsing', rule: `${NOT_TRIMMED}: U+200B` },
  { raw: '\u001c5', expected: 'int_parsing', rule: `${NOT_TRIMMED}: U+001C (Python's str.strip takes it)` },
  { raw: '\u180e5', expected: 'int_parsing', rule: `${NOT_TRIMMED}: U+180E` },
  { raw: '5 0', expected: 'int_parsing', rule: NOT_INT },

  { raw: '+5', expected: 5, rule: PLUS },
  { raw: ' +5 ', expected: 5, rule: `${TRIM}; ${PLUS}` },
  { raw: '+0', expected: 'greater_than_equal', rule: `${PLUS}; ${RANGE}` },
  { raw: '+ 5', expected: 'int_parsing', rule: `${PLUS} (after the trim: no space may follow it); ${FIRST_CHAR}` },
  { raw: '++5', expected: 'int_parsing', rule: `${PLUS} (only one); ${FIRST_CHAR}` },
  { raw: '+-5', expected: 'int_parsing', rule: SIGNS },
  { raw: '-+5', expected: 'int_parsing', rule: SIGNS },
  { raw: '--5', expected: 'int_parsing', rule: SIGNS },
  { raw: '-', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: '+', expected: 'int_parsing', rule: FIRST_CHAR },

  { raw: '007', expected: 7, rule: ZEROS },
  { raw: '+007', expected: 7, rule: `${PLUS}; ${ZEROS}` },
  { raw: '-007', expected: 'greater_than_equal', rule: `${ZEROS} (the sign put back); ${RANGE}` },
  { raw: '0_7', expected: 7, rule: ZEROS },
  { raw: '0__7', expected: 7, rule: `${ZEROS} (a doubled '_' among them too)` },
  { raw: '000', expected: 'greater_than_equal', rule: `${ZERO_KEPT}; ${RANGE}` },
  { raw: '0_0', expected: 'greater_than_equal', rule: `${ZERO_KEPT}; ${RANGE}` },
  { raw: '0_', expected: 'int_parsing', rule: `${ZERO_KEPT}, here '_', which is no integer` },
  { raw: '00-5', expected: 'greater_than_equal', rule: `${ZERO_MINUS}: -5; ${RANGE}` },
  { raw: '0-0', expected: 'greater_than_equal', rule: `${ZERO_MINUS}: -0; ${RANGE}` },
  { raw: '0-', expected: 'int_parsing', rule: `${ZERO_MINUS}: '-' alone is no integer` },
  { raw: '0x10', expected: 'int_parsing', rule: 'strip_leading_zeros: any other character among the leading zeros refuses the text' },
  { raw: '_5', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: '.5', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: 'abc', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: '', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: '\u0661\u0662', expected: 'int_parsing', rule: `${FIRST_CHAR} (ASCII digits only: Arabic-Indic ١٢)` },
  { raw: '\uff15', expected: 'int_parsing', rule: `${FIRST_CHAR} (ASCII digits only: fullwidth ５)` },
  { raw: 'NaN', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: 'inf', expected: 'int_parsing', rule: FIRST_CHAR },
  { raw: 'true', expected: 'int_parsing', rule: FIRST_CHAR },

  { raw: '1_0', expected: 10, rule: UNDERSCORES },
  { raw: '1_0_0', expected: 100, rule: UNDERSCORES },
  { raw: '-1_0', expected: 'greater_than_equal', rule: `${UNDERSCORES}; ${RANGE}` },
  { raw: '1_000', expected: 'less_than_equal', rule: `${UNDERSCORES}; ${RANGE}` },
  { raw: '1__0', expected: 'int_parsing', rule: BAD_UNDERSCORES },
  { raw: '10_', expected: 'int_parsing', rule: BAD_UNDERSCORES },
  { raw: '1_a', expected: 'int_parsing', rule: `${UNDERSCORES}, then ${NOT_INT}` },

  { raw: '5.0', expected: 5, rule: DECIMAL_ZEROS },
  { raw: '5.000', expected: 5, rule: DECIMAL_ZEROS },
  { raw: ' -0.0 ', expected: 'greater_than_equal', rule: `${DECIMAL_ZEROS}; ${RANGE}` },
  { raw: '00.0', expected: 'greater_than_equal', rule: `${ZEROS} (one kept before '.'); ${DECIMAL_ZEROS}; ${RANGE}` },
  { raw: '1_0.0', expected: 10, rule: `${DECIMAL_ZEROS}; ${UNDERSCORES}` },
  { raw: '0_.0', expected: 'int_parsing', rule: `${ZEROS} (keeping the '_' before '.'); ${BAD_UNDERSCORES}` },
  { raw: '5.', expected: 'int_parsing', rule: NOT_DECIMAL_ZEROS },
  { raw: '1.5', expected: 'int_parsing', rule: NOT_DECIMAL_ZEROS },
  { raw: '5.01', expected: 'int_parsing', rule: NOT_DECIMAL_ZEROS },
  { raw: '5.0.0', expected: 'int_parsing', rule: NOT_DECIMAL_ZEROS },
  { raw: '5.0_0', expected: 'int_parsing', rule: `${NOT_DECIMAL_ZEROS} ('_' is removed only after that check)` },
  { raw: '1e3', expected: 'int_parsing', rule: NOT_INT },
  { raw: '1E0', expected: 'int_parsing', rule: NOT_INT },

  { raw: ones(4300), expected: 'less_than_equal', rule: `${JSON_INT}: 4300 characters, at jiter's limit; ${RANGE}` },
  { raw: `-${ones(4299)}`, expected: 'greater_than_equal', rule: `${JSON_INT}: 4300 characters with the sign; ${RANGE}` },
  { raw: ones(4301), expected: 'int_parsing_size', rule: SIZE },
  { raw: `-${ones(4300)}`, expected: 'int_parsing_size', rule: `${SIZE}: the sign counts` },
  { raw: `${ones(4301)}x`, expected: 'int_parsing_size', rule: SIZE },
  { raw: `${ones(4300)}.0`, expected: 'less_than_equal', rule: `${DECIMAL_ZEROS}: the run stops at '.' within the limit; ${RANGE}` },
  { raw: ` ${ones(4301)}`, expected: 'int_parsing', rule: SIZE_CLEANED },
  { raw: `0${ones(4301)}`, expected: 'int_parsing', rule: `jiter: a leading 0 is no JSON integer (not a size error); ${SIZE_CLEANED}` },

  { raw: ' 5', query: '+5', expected: 5, rule: `${STARLETTE}: '+' is a space; ${TRIM}` },
  { raw: '+5', query: '%2B5', expected: 5, rule: `${STARLETTE}: %2B is '+'; ${PLUS}` },
  { raw: '\ufffd', query: '%FF', expected: 'int_parsing', rule: `${STARLETTE}: an invalid UTF-8 escape is U+FFFD; ${FIRST_CHAR}` },
  { raw: '7', query: 'abc&limit=7', expected: 7, rule: 'Starlette QueryParams.get: the last of repeated parameters' },
];

/** The rule's outcome for `raw` as pydantic itself gives it, for every row at once (python3 with pydantic 2). */
function pydanticOutcomes(raws: string[]): Outcome[] | undefined {
  const program = [
    'import json, sys',
    'from typing import Annotated',
    'import pydantic, pydantic_core',
    'from pydantic import Field, TypeAdapter, ValidationError',
    'adapter = TypeAdapter(Annotated[int, Field(ge=1, le=500)])',
    'def outcome(raw):',
    '    try:',
    '        return adapter.validate_python(raw)',
    '    except ValidationError as error:',
    "        return error.errors()[0]['type']",
    "print(json.dumps({'version': pydantic_core.__version__, 'outcomes': [outcome(raw) for raw in json.load(sys.stdin)]}))",
  ].join('\n');
  const run = spawnSync('python3', ['-c', program], { input: JSON.stringify(raws), encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) return undefined;
  const { version, outcomes } = JSON.parse(run.stdout) as { version: string; outcomes: Outcome[] };
  console.log(`limit table checked against pydantic-core ${version}`);
  return outcomes;
}

describe('the limit table is what pydantic-core answers (when python3 has pydantic 2)', () => {
  const outcomes = pydanticOutcomes(ROWS.map((row) => row.raw));
  it.skipIf(outcomes === undefined)('every row: the outcome pydantic gives', () => {
    expect(ROWS.map((row) => [row.raw.slice(0, 30), row.expected])).toEqual(ROWS.map((row, i) => [row.raw.slice(0, 30), outcomes![i]]));
  });
});

const RUNS = 501;

/** A row's raw value for a test name: long runs shortened, anything but printable ASCII as \\uXXXX. */
const shown = (raw: string) =>
  JSON.stringify(raw.length > 40 ? `${raw.slice(0, 12)}…(${raw.length})` : raw).replace(/[^\x20-\x7e]/g, (c) =>
    c === '…' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

describe.each(DATABASE_KINDS)('limit parsing over HTTP on %s', (kind) => {
  let service: TestService;
  let token: string;

  beforeAll(async () => {
    service = await startTestService(kind);
    const member = randomUUID();
    const graph = await insertGraph(service.prisma, { slug: 'limits' });
    await addMember(service.prisma, graph.id, member);
    // More runs than the largest limit: every accepted limit gives a full page and a next-page link.
    await insertManyRuns(service.prisma, graph.id, RUNS);
    token = await service.token(member);
  });
  afterAll(() => service?.close());

  it.each(ROWS.map((row) => [shown(row.raw), row]))('limit=%s', async (_, { raw, query, expected, rule }) => {
    const answer = await get(service.url, MIGRATIONS('limits', `?limit=${query ?? encodeURIComponent(raw)}`), { token });
    if (typeof expected === 'number') {
      expect(answer.status, rule).toBe(200);
      expect(answer.body, rule).toHaveLength(expected);
      // The next page's link writes the limit as the service read it.
      expect(answer.headers.get('link'), rule).toMatch(new RegExp(`\\?limit=${expected}&cursor=`));
    } else {
      const body = limitError(expected, raw);
      expect(answer.status, rule).toBe(422);
      expect(answer.headers.get('content-type')).toBe('application/json');
      // Byte for byte: FastAPI's keys in their order, the raw query text as `input`.
      expect(answer.text, rule).toBe(JSON.stringify(body));
    }
  });
});
