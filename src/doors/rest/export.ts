// GET /api/v1/graphs/{slug}/migrations/export and GET /api/v1/migrations/export: the whole selected
// history in one download, NDJSON or CSV (docs/contract.md#export). Before the first byte every
// refusal is the list route's JSON answer (the database down on the first page included: the
// error handler's 503). Then the pages that src/domain/export.ts reads one statement at a time are
// formatted and written, the next one read only once the client has taken the last (write() false:
// wait for 'drain'), and none after the client went away. A failure once the body has started
// cannot change the status: NDJSON ends with an `export_error` line, CSV without the terminating
// chunk (the socket is destroyed), so that neither can be taken for a complete export.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../domain/context.js';
import { exportAllGraphsHistory, exportGraphHistory, type HistoryPages } from '../../domain/export.js';
import { encodeCursor } from '../../domain/cursor.js';
import type { HistoryFilter } from '../../queries/historyFilter.js';
import type { MigrationRunRecord } from '../../queries/migrationRuns.js';
import { isDatabaseUnavailable } from '../../database/errors.js';
import { detail, sendJson, whenClosed, writable } from '../../platform/reply.js';
import { forbidden } from './migrations.js';
import type { EXPORT_ALL_MIGRATIONS, RouteValues } from './routes.js';
import { CSV_COLUMNS, CSV_HEADER, csvRecord, ERROR_DETAIL, EXPORT_CONTENT_TYPES, restItem, type ExportFormat } from './wire.js';

const FORMATTERS: Record<ExportFormat, (runs: readonly MigrationRunRecord[]) => string> = {
  ndjson: (runs) => runs.map((run) => `${JSON.stringify(restItem(run))}\n`).join(''),
  csv: (runs) =>
    runs
      .map((run) => {
        const item = restItem(run);
        return csvRecord(CSV_COLUMNS.map((column) => item[column]));
      })
      .join(''),
};

/** `attachment; filename="…"`, the name quoted and `"` / `\` escaped (a slug has neither, but the header must not depend on it). */
function disposition(slug: string | null, format: ExportFormat): string {
  const name = `${slug === null ? '' : `${slug}-`}migrations.${format}`;
  return `attachment; filename="${name.replace(/["\\]/g, '\\$&')}"`;
}

/** The last NDJSON line of an export that failed after its body started (docs/contract.md#export). */
export function exportErrorLine(error: unknown, runsSent: number, lastRun: MigrationRunRecord | undefined, filter: HistoryFilter) {
  const unavailable = isDatabaseUnavailable(error);
  return `${JSON.stringify({
    export_error: {
      status: unavailable ? 503 : 500,
      detail: unavailable ? ERROR_DETAIL.databaseUnavailable : ERROR_DETAIL.internal,
      runs_sent: runsSent,
      // Where the list route continues (with the same filters): the position of the last run sent.
      cursor: lastRun ? encodeCursor({ createdAt: lastRun.createdAt, id: lastRun.id }, filter) : null,
    },
  })}\n`;
}

/** Answers an export of `slug`'s history (null: every graph's, superusers only), its parameters validated. */
export async function serveExport(
  request: FastifyRequest,
  reply: FastifyReply,
  context: Context,
  slug: string | null,
  { format, filter }: RouteValues<typeof EXPORT_ALL_MIGRATIONS>,
): Promise<FastifyReply | undefined> {
  const head = request.method === 'HEAD';
  let pages: HistoryPages;
  let filename: string | null = null;
  try {
    if (slug === null) pages = exportAllGraphsHistory(context, filter);
    else {
      const found = await exportGraphHistory(context, slug, filter, { readFirstPage: !head });
      if (!found) return sendJson(reply, detail(404, ERROR_DETAIL.graphNotFound));
      ({ pages } = found);
      filename = found.graph.slug;
    }
  } catch (error) {
    const refused = forbidden(error);
    if (refused) return sendJson(reply, refused);
    // A database outage (503) and anything unexpected (500, logged): src/platform/app.ts's error handler.
    throw error;
  }
  const headers = {
    'content-type': EXPORT_CONTENT_TYPES[format],
    'content-disposition': disposition(filename, format),
    'cache-control': 'no-store',
  };
  // HEAD: the checks and the headers; nothing of the history is read.
  if (head) {
    await pages.return();
    return reply.code(200).headers(headers).send();
  }
  let next: IteratorResult<MigrationRunRecord[], void>;
  try {
    // The first page before the first byte, so that a database down now is still a 503 with a JSON body.
    next = await pages.next();
  } catch (error) {
    await pages.return();
    throw error;
  }
  reply.hijack();
  const response = reply.raw;
  let gone = false;
  // The client may have gone while the first page was read.
  whenClosed(response, () => (gone = true));
  // No Content-Length: chunked. The headers the hooks set (request id, security headers, CORS) too.
  response.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...headers });
  const formatted = FORMATTERS[format];
  let runsSent = 0;
  let lastRun: MigrationRunRecord | undefined;
  try {
    if (format === 'csv' && !response.write(CSV_HEADER)) await writable(response);
    while (!next.done && !gone) {
      const runs = next.value;
      const written = response.write(formatted(runs));
      runsSent += runs.length;
      lastRun = runs.at(-1);
      // The next page is read only once the client has taken this one, and never after it went away.
      if (!written) await writable(response);
      if (gone) break;
      next = await pages.next();
    }
    if (!gone) response.end();
  } catch (error) {
    const unavailable = isDatabaseUnavailable(error);
    const log = { err: error, runsSent, format };
    if (unavailable) request.log.warn(log, 'export stopped: database unavailable');
    else request.log.error(log, 'export failed');
    if (gone) return undefined;
    // The status is sent: the end must tell the client the export is incomplete.
    if (format === 'ndjson') response.end(exportErrorLine(error, runsSent, lastRun, filter));
    else response.destroy();
  } finally {
    await pages.return();
  }
  return undefined;
}
