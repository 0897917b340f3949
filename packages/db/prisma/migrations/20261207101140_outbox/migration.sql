-- AlterEnum
ALTER TYPE "hookline_event_source" ADD VALUE 'outbox';

-- CreateTable
CREATE TABLE "hookline_outbox" (
    "seq" BIGSERIAL NOT NULL,
    "id" TEXT NOT NULL DEFAULT (hookline_uuid_v7())::text,
    "type" TEXT NOT NULL,
    "key" TEXT,
    "tenant" TEXT,
    "payload" JSONB NOT NULL,
    "emitted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),

    CONSTRAINT "hookline_outbox_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "hookline_outbox_id_key" ON "hookline_outbox"("id");

-- CreateIndex
CREATE INDEX "hookline_outbox_key_seq_idx" ON "hookline_outbox"("key", "seq");
