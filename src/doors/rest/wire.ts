// What the REST door writes, word for word as the Python service wrote it: the error texts, the run
// as an item (pages, statistics, exports and event streams alike), and the export formats.
import { FAILURE_DETAIL } from '../../platform/app.js';
import { wireTimestamp } from '../../domain/timestamps.js';
import type { MigrationRunRecord } from '../../queries/migrationRuns.js';

/** The `detail` of every non-422 error, word for word as the Python service sent it (the OpenAPI document reuses them). */
export const ERROR_DETAIL = {
  notAuthenticated: 'Not authenticated',
  invalidToken: 'Invalid or expired token',
  graphNotFound: 'Graph not found',
  notMember: 'Not a member of this graph',
  notSuperuser: "Superusers only: every graph's history is not readable with this token",
  // The platform answers these for every route (src/platform/app.ts); the document names them.
  ...FAILURE_DETAIL,
} as const;

/** The item of the Python service: snake_case keys, in its order (the event streams' `data` too). */
export function restItem(run: MigrationRunRecord) {
  return {
    id: run.id,
    graph_id: run.graphId,
    from_version: run.fromVersion,
    to_version: run.toVersion,
    migration_id: run.migrationId,
    status: run.status,
    started_at: wireTimestamp(run.startedAt),
    finished_at: wireTimestamp(run.finishedAt),
    error: run.error,
    workflow_run_id: run.workflowRunId,
    created_at: wireTimestamp(run.createdAt),
  };
}

/** The formats of the export routes, in the order pydantic's `Literal['ndjson', 'csv']` names them; the first is the default. */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The response headers of each format (with Content-Disposition and Cache-Control: no-store). */
export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8; header=present',
};

export type Item = ReturnType<typeof restItem>;

/** The CSV columns: the list route's item keys, in its order. */
export const CSV_COLUMNS = Object.keys(
  restItem({
    id: '',
    graphId: '',
    fromVersion: 0,
    toVersion: 0,
    migrationId: '',
    status: '',
    startedAt: null,
    finishedAt: null,
    error: null,
    workflowRunId: null,
    createdAt: '',
  }),
) as (keyof Item)[];

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One RFC 4180 field: null is an empty field, an empty string `""` (so the two stay distinct),
 * numbers their digits, a string quoted (quotes doubled) when it holds `"`, `,`, CR or LF.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  if (value === '') return '""';
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const csvRecord = (fields: readonly (string | number | null)[]) => `${fields.map(csvField).join(',')}\r\n`;

export const CSV_HEADER = csvRecord(CSV_COLUMNS);
