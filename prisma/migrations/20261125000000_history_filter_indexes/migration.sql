-- Filtered history pages and the cross-graph view stay index range scans (docs/decisions/0004).

-- A graph's runs of one status, newest first: a `status: [...]` page reads one range per status and
-- merges them, so a rare status in a 100,000-run history reads only its own runs.
CREATE INDEX "ix_graph_migration_runs_status_history" ON "graph_migration_runs"("graph_id", "status", "created_at" DESC, "id" DESC);

-- Every graph's runs, newest first (Query.migrationRuns without a status filter), and every graph's
-- runs of one status ("all failed runs of the last day" reads the runs it returns).
--
-- Both are partial on a condition every row meets (the CHECK admits no empty status), which only
-- the cross-graph statements state. A statement is planned once, generically, and for one graph's
-- page PostgreSQL judged a scan of every graph's runs filtered on graph_id cheaper than the graph's
-- own range when the statistics said few graphs (measured: 714 rows read and removed for a page of
-- 10): a plan that reads other graphs' history. A partial index is only used by a statement whose
-- conditions imply its predicate, so one graph's pages can never be served from these.
CREATE INDEX "ix_graph_migration_runs_all_history" ON "graph_migration_runs"("created_at" DESC, "id" DESC) WHERE "status" <> '';
CREATE INDEX "ix_graph_migration_runs_all_status_history" ON "graph_migration_runs"("status", "created_at" DESC, "id" DESC) WHERE "status" <> '';
