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
    "runs" INTEGER NOT NULL CHECK ("runs" >= 0),
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

CREATE FUNCTION "graph_migration_run_statistics"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE graph_migration_run_daily_counts SET runs = runs - 1
        WHERE graph_id = OLD.graph_id AND day = date_trunc('day', OLD.created_at, 'UTC') AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO graph_migration_run_daily_counts AS c (graph_id, day, status, runs)
        VALUES (NEW.graph_id, date_trunc('day', NEW.created_at, 'UTC'), NEW.status, 1)
        ON CONFLICT (graph_id, day, status) DO UPDATE SET runs = c.runs + 1;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.graph_id = OLD.graph_id AND NEW.created_at = OLD.created_at THEN
        -- A status change: the latest run keeps its place.
        UPDATE graph_latest_migration_runs SET status = NEW.status WHERE graph_id = NEW.graph_id AND run_id = NEW.id;
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            IF EXISTS (SELECT FROM graph_latest_migration_runs WHERE graph_id = OLD.graph_id AND run_id = OLD.id) THEN
                PERFORM graph_latest_migration_run_refresh(OLD.graph_id);
            END IF;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            -- The newer of the two wins, whichever transaction commits first.
            INSERT INTO graph_latest_migration_runs AS l (graph_id, run_id, status, created_at)
            VALUES (NEW.graph_id, NEW.id, NEW.status, NEW.created_at)
            ON CONFLICT (graph_id) DO UPDATE SET run_id = EXCLUDED.run_id, status = EXCLUDED.status, created_at = EXCLUDED.created_at
                WHERE (EXCLUDED.created_at, EXCLUDED.run_id) > (l.created_at, l.run_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "graph_migration_run_counted" AFTER INSERT OR DELETE ON "graph_migration_runs"
    FOR EACH ROW EXECUTE FUNCTION "graph_migration_run_statistics"();
CREATE TRIGGER "graph_migration_run_recounted" AFTER UPDATE OF "graph_id", "status", "created_at" ON "graph_migration_runs"
    FOR EACH ROW WHEN ((OLD.graph_id, OLD.status, OLD.created_at) IS DISTINCT FROM (NEW.graph_id, NEW.status, NEW.created_at))
    EXECUTE FUNCTION "graph_migration_run_statistics"();

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
