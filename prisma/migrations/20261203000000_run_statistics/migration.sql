-- What the statistics read instead of a graph's whole history (docs/decisions/0010): how many runs each
-- graph has per UTC day and status, and each graph's latest run. The writers are another system, so
-- both are kept by triggers in the writer's own transaction, like the change feed: a reader sees them
-- exactly as consistent with graph_migration_runs as its snapshot is.

-- Runs per graph, UTC day of created_at and status. A window's counts add the days it covers whole
-- and count its two partial days from the history index.
CREATE TABLE "graph_migration_run_daily_counts" (
    "graph_id" UUID NOT NULL REFERENCES "graphs"("id") ON DELETE CASCADE,
    -- The start of the UTC day.
    "day" TIMESTAMPTZ(6) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    -- Zero once every run of the day in that status has moved on (rows are never deleted by the trigger).
    "runs" INTEGER NOT NULL,
    PRIMARY KEY ("graph_id", "day", "status")
);
-- Every graph's days in a window (the superusers' statistics).
CREATE INDEX "ix_graph_migration_run_daily_counts_day" ON "graph_migration_run_daily_counts"("day");

-- Each graph's latest run (the newest by created_at, then id) and its status, for "which graphs'
-- latest run failed".
CREATE TABLE "graph_latest_migration_runs" (
    "graph_id" UUID PRIMARY KEY REFERENCES "graphs"("id") ON DELETE CASCADE,
    "run_id" UUID NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL
);
CREATE INDEX "ix_graph_latest_migration_runs_status" ON "graph_latest_migration_runs"("status", "created_at" DESC, "run_id" DESC);
CREATE INDEX "ix_graph_latest_migration_runs_newest" ON "graph_latest_migration_runs"("created_at" DESC, "run_id" DESC);

-- A graph's latest run read again from its history (after its latest run was deleted or moved).
CREATE FUNCTION "graph_latest_migration_run_refresh"(graph UUID) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM graph_latest_migration_runs WHERE graph_id = graph;
    INSERT INTO graph_latest_migration_runs (graph_id, run_id, status, created_at)
    SELECT r.graph_id, r.id, r.status, r.created_at FROM graph_migration_runs r
    WHERE r.graph_id = graph ORDER BY r.created_at DESC, r.id DESC LIMIT 1
    ON CONFLICT (graph_id) DO UPDATE SET run_id = EXCLUDED.run_id, status = EXCLUDED.status, created_at = EXCLUDED.created_at
        WHERE (EXCLUDED.created_at, EXCLUDED.run_id) > (graph_latest_migration_runs.created_at, graph_latest_migration_runs.run_id);
END
$$;

-- Statement-level, over the statement's transition tables: a statement that writes many runs (a bulk
-- load, an INSERT … SELECT) adds its counts per (graph, day, status) once and offers each graph one
-- latest run, rather than updating the same rows once per run, which within one transaction would
-- leave a chain of row versions that every later update walks (quadratic: 20,000 runs of one graph
-- in one statement took 100 s with row triggers).
CREATE FUNCTION "graph_migration_run_statistics"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO graph_migration_run_daily_counts AS c (graph_id, day, status, runs)
        SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, count(*) FROM new_runs GROUP BY 1, 2, 3
        ON CONFLICT (graph_id, day, status) DO UPDATE SET runs = c.runs + EXCLUDED.runs;
        -- The newer of a graph's latest run and the statement's newest wins, whichever transaction commits first.
        INSERT INTO graph_latest_migration_runs AS l (graph_id, run_id, status, created_at)
        SELECT DISTINCT ON (graph_id) graph_id, id, status, created_at FROM new_runs ORDER BY graph_id, created_at DESC, id DESC
        ON CONFLICT (graph_id) DO UPDATE SET run_id = EXCLUDED.run_id, status = EXCLUDED.status, created_at = EXCLUDED.created_at
            WHERE (EXCLUDED.created_at, EXCLUDED.run_id) > (l.created_at, l.run_id);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE graph_migration_run_daily_counts c SET runs = c.runs - o.runs
        FROM (SELECT graph_id, date_trunc('day', created_at, 'UTC') AS day, status, count(*) AS runs FROM old_runs GROUP BY 1, 2, 3) o
        WHERE c.graph_id = o.graph_id AND c.day = o.day AND c.status = o.status;
        PERFORM graph_latest_migration_run_refresh(deleted.graph_id)
        FROM unnest(ARRAY(SELECT l.graph_id FROM graph_latest_migration_runs l WHERE l.run_id IN (SELECT id FROM old_runs))) AS deleted(graph_id);
    ELSE
        -- Only the runs whose graph, status or creation time changed count; the rest are unchanged.
        IF NOT EXISTS (SELECT FROM old_runs o JOIN new_runs n ON n.id = o.id
                       WHERE (o.graph_id, o.status, o.created_at) IS DISTINCT FROM (n.graph_id, n.status, n.created_at)) THEN
            RETURN NULL;
        END IF;
        INSERT INTO graph_migration_run_daily_counts AS c (graph_id, day, status, runs)
        SELECT graph_id, day, status, sum(delta) FROM (
            SELECT graph_id, date_trunc('day', created_at, 'UTC') AS day, status, -1 AS delta FROM old_runs
            UNION ALL
            SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, 1 FROM new_runs
        ) d GROUP BY 1, 2, 3 HAVING sum(delta) <> 0
        ON CONFLICT (graph_id, day, status) DO UPDATE SET runs = c.runs + EXCLUDED.runs;
        -- A status change keeps a latest run in its place; a run moved in time or to another graph
        -- makes both its graphs look their latest run up again.
        UPDATE graph_latest_migration_runs l SET status = n.status
        FROM old_runs o JOIN new_runs n ON n.id = o.id
        WHERE l.run_id = n.id AND n.graph_id = o.graph_id AND n.created_at = o.created_at AND n.status <> l.status;
        PERFORM graph_latest_migration_run_refresh(moved.graph_id) FROM (
            SELECT unnest(ARRAY[o.graph_id, n.graph_id]) AS graph_id FROM old_runs o JOIN new_runs n ON n.id = o.id
            WHERE (o.graph_id, o.created_at) IS DISTINCT FROM (n.graph_id, n.created_at)
        ) moved GROUP BY moved.graph_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "graph_migration_runs_counted" AFTER INSERT ON "graph_migration_runs"
    REFERENCING NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_statistics"();
CREATE TRIGGER "graph_migration_runs_recounted" AFTER UPDATE ON "graph_migration_runs"
    REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_statistics"();
CREATE TRIGGER "graph_migration_runs_uncounted" AFTER DELETE ON "graph_migration_runs"
    REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_statistics"();

CREATE FUNCTION "graph_migration_run_statistics_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE graph_migration_run_daily_counts, graph_latest_migration_runs;
    RETURN NULL;
END
$$;
CREATE TRIGGER "graph_migration_runs_truncated" AFTER TRUNCATE ON "graph_migration_runs"
    FOR EACH STATEMENT EXECUTE FUNCTION "graph_migration_run_statistics_truncated"();

-- The runs recorded before this migration.
INSERT INTO graph_migration_run_daily_counts (graph_id, day, status, runs)
SELECT graph_id, date_trunc('day', created_at, 'UTC'), status, count(*) FROM graph_migration_runs GROUP BY 1, 2, 3;
INSERT INTO graph_latest_migration_runs (graph_id, run_id, status, created_at)
SELECT DISTINCT ON (graph_id) graph_id, id, status, created_at FROM graph_migration_runs ORDER BY graph_id, created_at DESC, id DESC;
