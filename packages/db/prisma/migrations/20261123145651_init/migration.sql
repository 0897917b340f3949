-- CreateEnum
CREATE TYPE "hookline_event_status" AS ENUM ('received', 'processing', 'processed', 'failed', 'dead', 'ignored');

-- CreateEnum
CREATE TYPE "hookline_event_source" AS ENUM ('webhook', 'reconcile', 'replay');

-- CreateEnum
CREATE TYPE "hookline_attempt_outcome" AS ENUM ('succeeded', 'failed', 'dead', 'stale');

-- CreateTable
CREATE TABLE "hookline_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "provider" TEXT NOT NULL,
    "event_key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "tenant" TEXT,
    "entity_key" TEXT,
    "occurred_at" TIMESTAMPTZ(3),
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" "hookline_event_source" NOT NULL DEFAULT 'webhook',
    "headers" JSONB NOT NULL DEFAULT '{}',
    "raw_body" BYTEA,
    "payload" JSONB NOT NULL,
    "status" "hookline_event_status" NOT NULL DEFAULT 'received',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "deliveries" INTEGER NOT NULL DEFAULT 1,
    "last_delivered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "processed_at" TIMESTAMPTZ(3),
    "stale" BOOLEAN NOT NULL DEFAULT false,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "note" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hookline_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "hookline_attempts" (
    "id" BIGSERIAL NOT NULL,
    "event_id" UUID NOT NULL,
    "n" INTEGER NOT NULL,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "outcome" "hookline_attempt_outcome",
    "error" TEXT,
    "stack" TEXT,

    CONSTRAINT "hookline_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "hookline_entity_versions" (
    "provider" TEXT NOT NULL,
    "entity_key" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hookline_entity_versions_pkey" PRIMARY KEY ("provider","entity_key")
);

-- CreateTable
CREATE TABLE "hookline_audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "event_id" UUID,
    "filter" JSONB,
    "count" INTEGER,
    "note" TEXT,

    CONSTRAINT "hookline_audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "hookline_events_status_next_attempt_at_idx" ON "hookline_events"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "hookline_events_provider_tenant_received_at_idx" ON "hookline_events"("provider", "tenant", "received_at");

-- CreateIndex
CREATE INDEX "hookline_events_received_at_idx" ON "hookline_events"("received_at");

-- CreateIndex
CREATE UNIQUE INDEX "hookline_events_provider_event_key_key" ON "hookline_events"("provider", "event_key");

-- CreateIndex
CREATE INDEX "hookline_attempts_event_id_n_idx" ON "hookline_attempts"("event_id", "n");

-- CreateIndex
CREATE INDEX "hookline_audit_log_at_idx" ON "hookline_audit_log"("at");

-- CreateIndex
CREATE INDEX "hookline_audit_log_event_id_idx" ON "hookline_audit_log"("event_id");

-- AddForeignKey
ALTER TABLE "hookline_attempts" ADD CONSTRAINT "hookline_attempts_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "hookline_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
