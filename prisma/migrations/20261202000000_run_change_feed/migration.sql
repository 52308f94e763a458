-- The change feed of graph_migration_runs (docs/decisions/0008). The writers are another system, so
-- changes are captured where every writer passes: a trigger, in the writer's own transaction, keeps
-- the run as it was written. A change gets its place in the feed (`position`) only after its
-- transaction has committed, from the service (src/data/runChanges.ts): positions then follow
-- commit order, which the capture order (`change_id`, a sequence value taken before commit, so a
-- transaction that took a smaller one can commit after a larger one) does not. The writers send no
-- NOTIFY: under concurrent writers its commit-time lock cost them a fifth of their throughput
-- (measured with pgbench); the service looks for new changes itself, every 100 ms.

CREATE TABLE "graph_migration_run_changes" (
    -- Capture order: a sequence value, taken before the writer commits.
    "change_id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The feed's order, set once after the writer's commit, never changed.
    "position" BIGINT,
    "kind" VARCHAR(8) NOT NULL CHECK ("kind" IN ('INSERTED', 'UPDATED')),
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT clock_timestamp(),
    -- The run as this change left it (graph_migration_runs' columns).
    "run_id" UUID NOT NULL,
    "graph_id" UUID NOT NULL,
    "from_version" INTEGER NOT NULL,
    "to_version" INTEGER NOT NULL,
    "migration_id" VARCHAR(128) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),
    "error" TEXT,
    "workflow_run_id" VARCHAR(128),
    "created_at" TIMESTAMPTZ(6) NOT NULL
);

-- Reading the feed after a position; positions are unique.
CREATE UNIQUE INDEX "ix_graph_migration_run_changes_position" ON "graph_migration_run_changes"("position") WHERE "position" IS NOT NULL;
-- The changes still to be ordered: few at any time.
CREATE INDEX "ix_graph_migration_run_changes_unordered" ON "graph_migration_run_changes"("change_id") WHERE "position" IS NULL;

-- The feed's one row: the last position pruned (a cursor at or below it can no longer be resumed).
CREATE TABLE "graph_migration_run_feed" (
    "singleton" BOOLEAN PRIMARY KEY DEFAULT true CHECK ("singleton"),
    "pruned_through" BIGINT NOT NULL DEFAULT 0
);
INSERT INTO "graph_migration_run_feed" DEFAULT VALUES;

CREATE FUNCTION "graph_migration_run_capture"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO graph_migration_run_changes (kind, run_id, graph_id, from_version, to_version, migration_id, status,
        started_at, finished_at, error, workflow_run_id, created_at)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'INSERTED' ELSE 'UPDATED' END, NEW.id, NEW.graph_id, NEW.from_version,
        NEW.to_version, NEW.migration_id, NEW.status, NEW.started_at, NEW.finished_at, NEW.error, NEW.workflow_run_id,
        NEW.created_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER "graph_migration_run_inserted" AFTER INSERT ON "graph_migration_runs"
    FOR EACH ROW EXECUTE FUNCTION "graph_migration_run_capture"();
-- An update that changes nothing is not a change.
CREATE TRIGGER "graph_migration_run_updated" AFTER UPDATE ON "graph_migration_runs"
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION "graph_migration_run_capture"();
