// FastAPI's validation of a REST request, as the Python service's routes did it: each parameter
// parsed as pydantic 2 parses it (the parsers below, one per parameter declaration in routes.ts),
// every failure one item of a 422 `{"detail": [...]}`, the items in the order the route declares its
// parameters. `status`, `since` and `until` are then checked together as the history filter
// (src/queries/historyFilter.ts), and a parameter bound to the filter (`cursor`) is parsed with it.
import type { IncomingHttpHeaders } from 'node:http';
import { decodeCursor } from '../../domain/cursor.js';
import { isFeedCursor } from '../../domain/live.js';
import { checkHistoryFilter, HISTORY_FILTER_LIMITS, NO_FILTER, parseTimestamp, type HistoryFilter } from '../../queries/historyFilter.js';
import { HISTORY_LIMIT } from '../../queries/migrationRuns.js';
import type { JsonSchema } from '../../platform/answers.js';
import type { JsonAnswer } from '../../platform/reply.js';
import { EXPORT_FORMATS, type ExportFormat } from './wire.js';

/** One item of a FastAPI 422 `detail` list. */
export interface ValidationErrorItem {
  type: string;
  loc: ['query' | 'header', string];
  msg: string;
  /** The raw query-string text (a list for a repeatable parameter). */
  input: string | string[];
  ctx?: Record<string, unknown>;
}

/** A parameter's value, or why it is refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; items: ValidationErrorItem[] };

/** A field of the history filter, as checkHistoryFilter takes it. */
type FilterField = 'statuses' | 'since' | 'until';

/**
 * A parameter of a REST route: how OpenAPI describes it and how it is validated. Declared once in
 * routes.ts; the route's handler gets its parsed value under `key`.
 */
export interface ParameterDeclaration<K extends string = string, T = unknown> {
  /** The handler's name for the parsed value. */
  key: K;
  /** As sent: the query parameter's or header's name. */
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: JsonSchema;
  /** Which field of the history filter the value is: checked with the route's other filter parameters once each parses. */
  filter?: FilterField;
  /**
   * pydantic's validation of the raw values (a query parameter's every value in order, a header's or
   * path parameter's one value), with the route's history filter when it is valid (undefined when
   * the filter parameters are refused themselves, and for the filter parameters).
   */
  parse(raw: readonly string[], filter: HistoryFilter | undefined): Parsed<T>;
}

/** A declaration of any parameter. */
export type AnyParameter = ParameterDeclaration<string, unknown>;

/** The parsed values of a route's parameters, by key, and the history filter they make. */
export type ParameterValues<P extends readonly AnyParameter[]> = {
  [D in P[number] as D['key']]: D extends ParameterDeclaration<string, infer T> ? T : never;
} & { filter: HistoryFilter };

/** What a request gives its route's parameters. */
export interface RequestInput {
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The path parameters, decoded (or, for a path the router could not decode, as received). */
  params: Record<string, string>;
}

export type ValidatedRequest<P extends readonly AnyParameter[]> =
  { ok: true; values: ParameterValues<P> } | { ok: false; answer: JsonAnswer };

/**
 * A route's parameters, validated as FastAPI did: every parameter on its own, then the history filter
 * (`status`, `since`, `until`, whichever the route has) as a whole, then what is bound to it; every
 * failure reported together, in the order the route declares the parameters they locate.
 */
export function validateRequest<P extends readonly AnyParameter[]>(parameters: P, input: RequestInput): ValidatedRequest<P> {
  const values: Record<string, unknown> = {};
  const refused: [number, ValidationErrorItem][] = [];
  const read = (parameter: AnyParameter, index: number, filter: HistoryFilter | undefined) => {
    const parsed = parameter.parse(rawValues(parameter, input), filter);
    if (parsed.ok) values[parameter.key] = parsed.value;
    else refused.push(...parsed.items.map((item): [number, ValidationErrorItem] => [index, item]));
    return parsed.ok;
  };
  const filterParameters = parameters.filter((parameter) => parameter.filter !== undefined);
  const filterParsed = filterParameters.map((parameter) => read(parameter, parameters.indexOf(parameter), undefined)).every(Boolean);
  let filter: HistoryFilter | undefined;
  if (filterParsed) {
    const checked = historyFilter(Object.fromEntries(filterParameters.map((parameter) => [parameter.filter!, values[parameter.key]])));
    if (checked.ok) filter = checked.value;
    else for (const item of checked.items) refused.push([parameters.findIndex((parameter) => parameter.name === item.loc[1]), item]);
  }
  parameters.forEach((parameter, index) => {
    if (parameter.filter === undefined) read(parameter, index, filter);
  });
  if (refused.length > 0) {
    // Array.prototype.sort is stable: a parameter's own items keep their order.
    return { ok: false, answer: validationFailed(refused.sort(([a], [b]) => a - b).map(([, item]) => item)) };
  }
  return { ok: true, values: { ...values, filter: filter ?? NO_FILTER } as ParameterValues<P> };
}

function rawValues({ name, in: location }: AnyParameter, { query, headers, params }: RequestInput): string[] {
  if (location === 'query') return query.getAll(name);
  if (location === 'path') return [params[name] ?? ''];
  const header = headers[name.toLowerCase()];
  return typeof header === 'string' ? [header] : [];
}

const validationFailed = (items: ValidationErrorItem[]): JsonAnswer => ({ status: 422, body: { detail: items } });

/**
 * `limit` as FastAPI validated it: pydantic 2's lax `int` from a query string (pydantic-core's
 * `str_as_int`, src/input/shared.rs), then `ge` / `le`, with FastAPI's 422 bodies.
 */
export function parseLimit(values: readonly string[]): Parsed<number> {
  // Starlette keeps the last of repeated parameters.
  const raw = values.at(-1);
  if (raw === undefined) return { ok: true, value: HISTORY_LIMIT.default };
  const invalid = (type: string, msg: string, ctx?: Record<string, number>): Parsed<number> => ({
    ok: false,
    items: [{ type, loc: ['query', 'limit'], msg, input: raw, ...(ctx && { ctx }) }],
  });
  const parsed = laxInteger(raw);
  if (parsed === 'int_parsing') return invalid(parsed, 'Input should be a valid integer, unable to parse string as an integer');
  if (parsed === 'int_parsing_size') return invalid(parsed, 'Unable to parse input string as an integer, exceeded maximum size');
  // pydantic checks `le` before `ge`; with 1 <= 500 at most one of them fails.
  if (parsed > BigInt(HISTORY_LIMIT.max)) {
    return invalid('less_than_equal', `Input should be less than or equal to ${HISTORY_LIMIT.max}`, { le: HISTORY_LIMIT.max });
  }
  if (parsed < BigInt(HISTORY_LIMIT.min)) {
    return invalid('greater_than_equal', `Input should be greater than or equal to ${HISTORY_LIMIT.min}`, { ge: HISTORY_LIMIT.min });
  }
  return { ok: true, value: Number(parsed) };
}

/**
 * pydantic-core 2's `str_as_int` (src/input/shared.rs, with jiter's `NumberInt::try_from`), rule for
 * rule: the text as a JSON integer; failing that, the text "cleaned" (`clean_int_str`) and read as a
 * JSON integer again. Only the first reading reports a number too long (`int_parsing_size`).
 */
function laxInteger(text: string): bigint | 'int_parsing' | 'int_parsing_size' {
  const direct = jsonInteger(text);
  if (direct !== 'invalid') return direct;
  const cleaned = cleanIntegerText(text);
  const again = cleaned === undefined ? 'invalid' : jsonInteger(cleaned);
  return typeof again === 'bigint' ? again : 'int_parsing';
}

// jiter reads digits after a leading 1-9 into a big integer and stops once the sign and digits pass
// 4,300 characters (CPython's int-from-str limit), whatever follows them.
const JSON_INTEGER_MAX_CHARS = 4_300;

/** jiter's `NumberInt::try_from(&[u8])`: JSON's integer grammar over the whole text (`-0` included; no `+`, no leading zero). */
function jsonInteger(text: string): bigint | 'invalid' | 'int_parsing_size' {
  const run = /^-?[1-9][0-9]*/.exec(text)?.[0];
  if (run !== undefined && run.length > JSON_INTEGER_MAX_CHARS) return 'int_parsing_size';
  return /^-?(?:0|[1-9][0-9]*)$/.test(text) ? BigInt(text) : 'invalid';
}

// Rust's `str::trim`: the Unicode White_Space characters (not U+FEFF, unlike JavaScript's `trim`; U+0085 included).
const RUST_WHITESPACE = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const SURROUNDING_WHITESPACE = new RegExp(`^[${RUST_WHITESPACE}]+|[${RUST_WHITESPACE}]+$`, 'g');

/** pydantic-core's `clean_int_str`: undefined when nothing could be cleaned (the text stays refused). */
function cleanIntegerText(text: string): string | undefined {
  let s = text.replace(SURROUNDING_WHITESPACE, '');
  // One `+`, not followed by a `-`.
  if (s.startsWith('+')) {
    if (s.startsWith('+-')) return undefined;
    s = s.slice(1);
  }
  // One `-`, not followed by another sign; put back at the end.
  const negative = s.startsWith('-');
  if (negative) {
    if (s.startsWith('--') || s.startsWith('-+')) return undefined;
    s = s.slice(1);
  }
  const digits = stripLeadingZeros(s);
  if (digits === undefined) return undefined;
  s = digits;
  // A fraction of zeros only (`5.0`, `5.000`; not `5.`), from the first `.`.
  const dot = s.indexOf('.');
  if (dot >= 0 && /^0+$/.test(s.slice(dot + 1))) s = s.slice(0, dot);
  const sign = negative ? '-' : '';
  const joined = stripUnderscores(s);
  if (joined !== undefined) return sign + joined;
  return s.length === text.length ? undefined : sign + s;
}

/**
 * pydantic-core's `strip_leading_zeros`: the text must start with a digit; zeros and underscores
 * before the first other digit go, one zero is kept before a `.` or when nothing else follows.
 * Anything but a digit, `_`, `.` or `-` among the leading zeros refuses the text.
 */
function stripLeadingZeros(s: string): string | undefined {
  if (s[0] !== '0') return /^[1-9-]/.test(s) ? s : undefined;
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '0' || c === '_') continue;
    if ((c >= '1' && c <= '9') || c === '-') return s.slice(i);
    if (c === '.') return s.slice(i - 1);
    return undefined;
  }
  return s.slice(-1);
}

/** pydantic-core's `strip_underscores`: single `_` between characters are removed; none, a leading, trailing or doubled one: undefined. */
function stripUnderscores(s: string): string | undefined {
  if (!s.includes('_') || s.startsWith('_') || s.endsWith('_') || s.includes('__')) return undefined;
  return s.replaceAll('_', '');
}

/**
 * `cursor` as a FastAPI `str | None` with a validator that raises ValueError: absent is the first
 * page, and anything the codec refuses (empty included, or issued for other filters) is pydantic's
 * `value_error`, whose `ctx` FastAPI serializes as `{"error": {}}`. `filter` is undefined when the
 * filter parameters are invalid themselves: then only the cursor's own form is checked.
 */
export function parseCursor(values: readonly string[], filter: HistoryFilter | undefined): Parsed<string | null> {
  const raw = values.at(-1);
  if (raw === undefined) return { ok: true, value: null };
  const decoded = decodeCursor(raw, filter ?? NO_FILTER);
  if (decoded.ok || (filter === undefined && decoded.filterMismatch)) return { ok: true, value: raw };
  return {
    ok: false,
    items: [{ type: 'value_error', loc: ['query', 'cursor'], msg: `Value error, ${decoded.reason}`, input: raw, ctx: { error: {} } }],
  };
}

/**
 * `status` as a `list[str] | None` with at most HISTORY_FILTER_LIMITS.maxStatuses distinct items
 * (pydantic's `too_long`); absent (no value) is undefined.
 */
export function parseStatuses(statuses: readonly string[]): Parsed<string[] | undefined> {
  const distinct = new Set(statuses).size;
  const max = HISTORY_FILTER_LIMITS.maxStatuses;
  if (distinct <= max) return { ok: true, value: statuses.length > 0 ? [...statuses] : undefined };
  return {
    ok: false,
    items: [
      {
        type: 'too_long',
        loc: ['query', 'status'],
        msg: `List should have at most ${max} items after validation, not ${distinct}`,
        input: [...statuses],
        ctx: { field_type: 'List', max_length: max, actual_length: distinct },
      },
    ],
  };
}

/**
 * `since` or `until` as a `datetime | None`, the last of repeated ones (as Starlette keeps), checked on
 * its own as pydantic would (`datetime_from_date_parsing`); the value is the text as sent.
 */
export const parseInstant =
  (field: 'since' | 'until') =>
  (values: readonly string[]): Parsed<string | undefined> => {
    const raw = values.at(-1);
    const parsed = raw === undefined ? undefined : parseTimestamp(raw);
    if (!parsed || parsed.ok) return { ok: true, value: raw };
    return {
      ok: false,
      items: [
        {
          type: 'datetime_from_date_parsing',
          loc: ['query', field],
          msg: `Input should be a valid datetime or date, ${parsed.reason}`,
          input: raw!,
          ctx: { error: parsed.reason },
        },
      ],
    };
  };

/**
 * The history filter once each of its parameters parses: `since` after `until` is then a
 * `value_error` on `since`.
 */
function historyFilter(input: { statuses?: string[]; since?: string; until?: string }): Parsed<HistoryFilter> {
  const checked = checkHistoryFilter(input);
  if (checked.ok) return { ok: true, value: checked.filter };
  // What is left once each value parses: the window's order.
  const raw = input[checked.field === 'status' ? 'since' : checked.field]!;
  return {
    ok: false,
    items: [{ type: 'value_error', loc: ['query', checked.field], msg: `Value error, ${checked.reason}`, input: raw, ctx: { error: {} } }],
  };
}

/**
 * `format` as a FastAPI `Literal['ndjson', 'csv'] = 'ndjson'` query parameter: the last of repeated
 * ones (Starlette), compared exactly (case included), anything else pydantic 2's `literal_error`.
 */
export function parseFormat(values: readonly string[]): Parsed<ExportFormat> {
  const raw = values.at(-1);
  if (raw === undefined) return { ok: true, value: EXPORT_FORMATS[0] };
  if ((EXPORT_FORMATS as readonly string[]).includes(raw)) return { ok: true, value: raw as ExportFormat };
  const expected = EXPORT_FORMATS.map((format) => `'${format}'`).join(' or ');
  return {
    ok: false,
    items: [{ type: 'literal_error', loc: ['query', 'format'], msg: `Input should be ${expected}`, input: raw, ctx: { expected } }],
  };
}

/** The `Last-Event-ID` header (trimmed): an event id of the stream, or a 422 item located in the header, as FastAPI locates header parameters. */
export function parseLastEventId(values: readonly string[]): Parsed<string | undefined> {
  const lastEventId = values.at(-1)?.trim();
  if (lastEventId === undefined || isFeedCursor(lastEventId)) return { ok: true, value: lastEventId };
  return {
    ok: false,
    items: [
      {
        type: 'value_error',
        loc: ['header', 'last-event-id'],
        msg: 'Value error, not an event id of this stream: send the id of the last event received, or no Last-Event-ID to start from now',
        input: lastEventId,
        ctx: { error: {} },
      },
    ],
  };
}

/** A header taken as it is sent, for the route to read itself (`If-None-Match`). */
export const asSent = (values: readonly string[]): Parsed<string | undefined> => ({ ok: true, value: values.at(-1) });

/** A path parameter: any text (decoded by the router, or as received when it could not be). */
export const pathText = (values: readonly string[]): Parsed<string> => ({ ok: true, value: values[0] ?? '' });
