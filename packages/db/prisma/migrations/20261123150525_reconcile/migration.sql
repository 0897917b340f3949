-- CreateEnum
CREATE TYPE "hookline_reconcile_status" AS ENUM ('running', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "hookline_reconcile_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "provider" TEXT NOT NULL,
    "tenant" TEXT NOT NULL DEFAULT '',
    "status" "hookline_reconcile_status" NOT NULL DEFAULT 'running',
    "trigger" TEXT NOT NULL DEFAULT 'manual',
    "dry_run" BOOLEAN NOT NULL DEFAULT false,
    "since" TIMESTAMPTZ(3) NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,
    "page_cursor" TEXT,
    "pages" INTEGER NOT NULL DEFAULT 0,
    "scanned" INTEGER NOT NULL DEFAULT 0,
    "known" INTEGER NOT NULL DEFAULT 0,
    "recovered" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "warnings" JSONB NOT NULL DEFAULT '[]',
    "last_error" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_owner" UUID,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "hookline_reconcile_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "hookline_reconcile_cursors" (
    "provider" TEXT NOT NULL,
    "tenant" TEXT NOT NULL DEFAULT '',
    "position" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hookline_reconcile_cursors_pkey" PRIMARY KEY ("provider","tenant")
);

-- CreateIndex
CREATE INDEX "hookline_reconcile_runs_provider_tenant_started_at_idx" ON "hookline_reconcile_runs"("provider", "tenant", "started_at");

-- CreateIndex
CREATE INDEX "hookline_reconcile_runs_started_at_idx" ON "hookline_reconcile_runs"("started_at");
