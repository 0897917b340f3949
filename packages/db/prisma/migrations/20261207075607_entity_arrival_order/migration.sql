-- AlterTable
ALTER TABLE "hookline_due_events" ADD COLUMN     "entity_key" TEXT,
ADD COLUMN     "provider" TEXT,
ADD COLUMN     "seq" BIGSERIAL NOT NULL,
ADD COLUMN     "waiting" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "waits" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE INDEX "hookline_due_events_provider_entity_key_seq_idx" ON "hookline_due_events"("provider", "entity_key", "seq");
