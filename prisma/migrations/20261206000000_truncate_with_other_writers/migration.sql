-- Another writer's TRUNCATE of the runs must not fail on our statistics trigger (issue 30). The
-- trigger of 20261203000000_run_statistics truncated the day counts and the deltas itself, which
-- PostgreSQL refuses when the statement that fired it is truncating one of them too: `TRUNCATE graphs
-- CASCADE` (or the three tables together with CASCADE) reaches the day counts through their foreign
-- key ("cannot TRUNCATE … because it is being used by active queries in this session"). Then what the
-- statement does not empty itself is emptied row by row: the deltas only, a few rows per statement
-- written since the last fold. An applied migration's text cannot change (Prisma records its
-- checksum), hence this one.
CREATE OR REPLACE FUNCTION "graph_migration_run_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        TRUNCATE graph_migration_run_daily_counts, graph_migration_run_count_deltas;
    EXCEPTION WHEN object_in_use THEN
        DELETE FROM graph_migration_run_daily_counts;
        DELETE FROM graph_migration_run_count_deltas;
    END;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION "graph_migration_run_counts_truncated"() IS
    'graph-migrations-subgraph: empties the statistics'' day counts and deltas after a TRUNCATE of graph_migration_runs; never fails the TRUNCATE (docs/decisions/0010)';
