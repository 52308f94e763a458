// Every database read about graphs and their members. Batch functions return results in key order.
import type { PrismaClient } from '../db/client.js';
import { Prisma } from '../db/generated/client.js';
import { isUuid, utcTimestamp } from './sql.js';

export interface GraphRecord {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  status: string;
  typeId: string;
  typeVersion: number;
  readOnly: boolean;
  readOnlyReason: string | null;
  createdAt: string;
  updatedAt: string;
  /** The viewer's role on this graph (`reader`, `writer`, `admin`), null when not a member. */
  viewerRole: string | null;
}

export type GraphKey = { id: string } | { slug: string };

/**
 * A text no stored slug can equal (longer than the varchar(100) column, or holding NUL, which
 * PostgreSQL text cannot carry and would reject with an error) is unknown without asking.
 */
function couldBeSlug(slug: string): boolean {
  return slug.length <= 100 && !slug.includes('\u0000');
}

/**
 * Graphs by id or by slug, mixed, with the viewer's membership joined in: one statement for the
 * whole batch, whichever keys it holds. Unknown keys come back as null.
 */
export async function graphsByKeys(prisma: PrismaClient, viewerId: string | null, keys: readonly GraphKey[]): Promise<(GraphRecord | null)[]> {
  const ids = keys.flatMap((key) => ('id' in key && isUuid(key.id) ? [key.id.toLowerCase()] : []));
  const slugs = keys.flatMap((key) => ('slug' in key && couldBeSlug(key.slug) ? [key.slug] : []));
  if (ids.length === 0 && slugs.length === 0) return keys.map(() => null);
  const memberId = viewerId !== null && isUuid(viewerId) ? viewerId : null;
  const rows = await prisma.$queryRaw<GraphRecord[]>(Prisma.sql`
    SELECT g.id::text AS id, g.slug, g.name, g.description, g.is_default AS "isDefault", g.status,
           g.type_id AS "typeId", g.type_version AS "typeVersion", g.read_only AS "readOnly",
           g.read_only_reason AS "readOnlyReason", ${utcTimestamp('g.created_at')} AS "createdAt",
           ${utcTimestamp('g.updated_at')} AS "updatedAt", m.role AS "viewerRole"
    FROM graphs g
    LEFT JOIN graph_members m ON m.graph_id = g.id AND m.user_id = ${memberId}::uuid
    WHERE g.id = ANY(${ids}::uuid[]) OR g.slug = ANY(${slugs}::text[])`);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const bySlug = new Map(rows.map((row) => [row.slug, row]));
  return keys.map((key) => ('id' in key ? byId.get(key.id.toLowerCase()) : bySlug.get(key.slug)) ?? null);
}
