-- Graphs, their migration-run history and their members (DESIGN.md §1).
CREATE TABLE "graphs" (
    "id" UUID NOT NULL,
    "slug" VARCHAR(100) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" TEXT,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "status" VARCHAR(20) NOT NULL DEFAULT 'active',
    "type_id" VARCHAR(64) NOT NULL DEFAULT 'default',
    "type_version" INTEGER NOT NULL DEFAULT 1,
    "read_only" BOOLEAN NOT NULL DEFAULT false,
    "read_only_reason" VARCHAR(32),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "graphs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "ck_graphs_slug" CHECK ("slug" ~ '^[a-z0-9][a-z0-9_]{1,98}[a-z0-9]$'),
    CONSTRAINT "ck_graphs_status" CHECK ("status" IN ('provisioning', 'active', 'error', 'deleted')),
    CONSTRAINT "ck_graphs_read_only_reason" CHECK ("read_only_reason" IS NULL OR "read_only_reason" IN ('owner', 'migrating', 'error'))
);

CREATE UNIQUE INDEX "graphs_slug_key" ON "graphs"("slug");

CREATE TABLE "graph_migration_runs" (
    "id" UUID NOT NULL,
    "graph_id" UUID NOT NULL,
    "from_version" INTEGER NOT NULL,
    "to_version" INTEGER NOT NULL,
    "migration_id" VARCHAR(128) NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'pending',
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),
    "error" TEXT,
    "workflow_run_id" VARCHAR(128),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "graph_migration_runs_pkey" PRIMARY KEY ("id"),
    -- The only place the set of run states is defined: the API passes the value through as a string.
    CONSTRAINT "ck_graph_migration_runs_status" CHECK ("status" IN ('pending', 'running', 'success', 'failed', 'skipped')),
    CONSTRAINT "graph_migration_runs_graph_id_fkey" FOREIGN KEY ("graph_id") REFERENCES "graphs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE UNIQUE INDEX "uq_graph_migration_run" ON "graph_migration_runs"("graph_id", "migration_id", "to_version");

-- Serves the history query (newest first, id tie-break) as one index range scan with no sort.
CREATE INDEX "ix_graph_migration_runs_history" ON "graph_migration_runs"("graph_id", "created_at" DESC, "id" DESC);

CREATE TABLE "graph_members" (
    "graph_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "role" VARCHAR(16) NOT NULL,

    CONSTRAINT "graph_members_pkey" PRIMARY KEY ("graph_id", "user_id"),
    CONSTRAINT "ck_graph_members_role" CHECK ("role" IN ('reader', 'writer', 'admin')),
    CONSTRAINT "graph_members_graph_id_fkey" FOREIGN KEY ("graph_id") REFERENCES "graphs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
