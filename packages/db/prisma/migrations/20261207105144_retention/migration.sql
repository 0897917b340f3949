-- AlterTable
ALTER TABLE "hookline_events" ADD COLUMN     "payload_pruned_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "hookline_prune_cursors" (
    "kind" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hookline_prune_cursors_pkey" PRIMARY KEY ("kind")
);
