-- Deletions and truncations of graph_migration_runs in the change feed (issue 30, docs/decisions/0008).
-- A deleted run is a change of its own, 'DELETED', carrying the run as it was; a TRUNCATE of the runs
-- (alone, or reached through `TRUNCATE graphs CASCADE`) is one 'TRUNCATED' change without a run,
-- which ends every open stream: its readers reload the list and resume after it. An applied
-- migration's text cannot change (Prisma records its checksum), hence this one.

-- 'TRUNCATED' is nine characters: the kind's column was eight wide.
ALTER TABLE "graph_migration_run_changes" DROP CONSTRAINT "graph_migration_run_changes_kind_check";
ALTER TABLE "graph_migration_run_changes" ALTER COLUMN "kind" TYPE VARCHAR(16);
ALTER TABLE "graph_migration_run_changes" ADD CONSTRAINT "ck_graph_migration_run_changes_kind"
    CHECK ("kind" IN ('INSERTED', 'UPDATED', 'DELETED', 'TRUNCATED'));

-- A truncation concerns no run: its run columns are NULL. Every other change carries the run, with
-- every column graph_migration_runs itself requires (what the NOT NULLs said before).
ALTER TABLE "graph_migration_run_changes"
    ALTER COLUMN "run_id" DROP NOT NULL,
    ALTER COLUMN "graph_id" DROP NOT NULL,
    ALTER COLUMN "from_version" DROP NOT NULL,
    ALTER COLUMN "to_version" DROP NOT NULL,
    ALTER COLUMN "migration_id" DROP NOT NULL,
    ALTER COLUMN "status" DROP NOT NULL,
    ALTER COLUMN "created_at" DROP NOT NULL;
ALTER TABLE "graph_migration_run_changes" ADD CONSTRAINT "ck_graph_migration_run_changes_run" CHECK (
    CASE WHEN "kind" = 'TRUNCATED'
        THEN num_nonnulls("run_id", "graph_id", "from_version", "to_version", "migration_id", "status", "started_at",
            "finished_at", "error", "workflow_run_id", "created_at") = 0
        ELSE num_nulls("run_id", "graph_id", "from_version", "to_version", "migration_id", "status", "created_at") = 0
    END);

-- Statement-level, over the statement's transition table: one INSERT … SELECT per DELETE statement,
-- however many runs it deletes (another writer's bulk DELETE of 100,000 runs, or a graph's deletion
-- cascading to its runs), in a deterministic order (the history's, oldest first), so the changes of
-- one statement are in the feed in that order. The run as it was: the feed leaves out the changes of
-- a graph that no longer exists, as it does its inserts and updates.
CREATE FUNCTION "graph_migration_run_capture_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO graph_migration_run_changes (kind, run_id, graph_id, from_version, to_version, migration_id, status,
        started_at, finished_at, error, workflow_run_id, created_at)
    SELECT 'DELETED', id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error,
        workflow_run_id, created_at
    FROM deleted_runs
    ORDER BY created_at, id;
    RETURN NULL;
END
$$;
CREATE TRIGGER "graph_migration_run_deleted" AFTER DELETE ON "graph_migration_runs"
    REFERENCING OLD TABLE AS deleted_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_capture_deleted"();

-- A TRUNCATE fires no DELETE trigger and has no transition table: one change says the history was
-- emptied. It must never fail the writer's TRUNCATE (20261206000000_truncate_with_other_writers): it
-- only inserts, into a table no foreign key reaches, so no TRUNCATE … CASCADE empties it under the
-- trigger, and an insert into a table the same statement truncated is allowed (a TRUNCATE of the
-- change table itself is not refused either). RESTART IDENTITY restarts only the truncated tables'
-- sequences, never the change table's.
CREATE FUNCTION "graph_migration_run_capture_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO graph_migration_run_changes (kind) VALUES ('TRUNCATED');
    RETURN NULL;
END
$$;
CREATE TRIGGER "graph_migration_run_history_truncated" AFTER TRUNCATE ON "graph_migration_runs"
    FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_capture_truncated"();
