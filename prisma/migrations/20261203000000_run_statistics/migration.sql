-- What the statistics read instead of a graph's whole history (docs/decisions/0010): how many runs each
-- graph has per UTC day and status. The writers are another system, so the counts are kept by
-- triggers in the writer's own transaction, like the change feed's capture, and a reader sees them
-- exactly as consistent with graph_migration_runs as its snapshot is. A writer only ever inserts
-- (a delta): it never updates a row another writer updates, so writers of the same graph never wait
-- for each other's commit. The service folds the deltas into the day counts in the background
-- (foldDayCounts, src/data/migrationStats.ts); readers add both.

-- Runs per graph, UTC day of created_at and status, folded. A window's counts add the days it covers
-- whole and count its two partial days from the history index.
CREATE TABLE "graph_migration_run_daily_counts" (
    "graph_id" UUID NOT NULL REFERENCES "graphs"("id") ON DELETE CASCADE,
    -- The start of the UTC day.
    "day" TIMESTAMPTZ(6) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    -- Zero once every run of the day in that status has moved on.
    "runs" INTEGER NOT NULL,
    PRIMARY KEY ("graph_id", "day", "status")
);
-- Every graph's days in a window (the superusers' statistics).
CREATE INDEX "ix_graph_migration_run_daily_counts_day" ON "graph_migration_run_daily_counts"("day");

-- What the writers' statements changed, not yet folded: a few rows per statement written since the
-- last fold (no foreign key: a graph's deltas may outlive it until the fold drops them).
CREATE TABLE "graph_migration_run_count_deltas" (
    "delta_id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "graph_id" UUID NOT NULL,
    "day" TIMESTAMPTZ(6) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "runs" INTEGER NOT NULL
);
CREATE INDEX "ix_graph_migration_run_count_deltas_day" ON "graph_migration_run_count_deltas"("graph_id", "day");

-- Statement-level, over the statement's transition tables: a statement that writes many runs (a bulk
-- load, an INSERT … SELECT) adds one delta per (graph, day, status) it touched. (Row triggers that
-- upserted one count per run took 100 s for 20,000 runs of one graph in one statement: within one
-- transaction every update of the same row leaves a row version the next one walks past.)
CREATE FUNCTION "graph_migration_run_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO graph_migration_run_count_deltas (graph_id, day, status, runs)
        SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, count(*) FROM new_runs GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO graph_migration_run_count_deltas (graph_id, day, status, runs)
        SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, -count(*) FROM old_runs GROUP BY 1, 2, 3;
    ELSE
        -- Only runs whose graph, status or creation day changed move a count: the rest add up to zero.
        INSERT INTO graph_migration_run_count_deltas (graph_id, day, status, runs)
        SELECT graph_id, day, status, sum(delta) FROM (
            SELECT graph_id, date_trunc('day', created_at, 'UTC') AS day, status, -1 AS delta FROM old_runs
            UNION ALL
            SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, 1 FROM new_runs
        ) d GROUP BY 1, 2, 3 HAVING sum(delta) <> 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "graph_migration_runs_counted" AFTER INSERT ON "graph_migration_runs"
    REFERENCING NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_count"();
CREATE TRIGGER "graph_migration_runs_recounted" AFTER UPDATE ON "graph_migration_runs"
    REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_count"();
CREATE TRIGGER "graph_migration_runs_uncounted" AFTER DELETE ON "graph_migration_runs"
    REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_count"();

CREATE FUNCTION "graph_migration_run_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE graph_migration_run_daily_counts, graph_migration_run_count_deltas;
    RETURN NULL;
END
$$;
CREATE TRIGGER "graph_migration_runs_truncated" AFTER TRUNCATE ON "graph_migration_runs"
    FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_counts_truncated"();

-- The runs recorded before this migration.
INSERT INTO graph_migration_run_daily_counts (graph_id, day, status, runs)
SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, count(*) FROM graph_migration_runs GROUP BY 1, 2, 3;
