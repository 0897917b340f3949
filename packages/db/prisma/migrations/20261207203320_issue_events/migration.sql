-- DropIndex
DROP INDEX "hookline_attempts_fingerprint_event_id_idx";

-- CreateTable
CREATE TABLE "hookline_issue_events" (
    "fingerprint" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "first_seen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hookline_issue_events_pkey" PRIMARY KEY ("fingerprint","event_id")
);

-- CreateIndex
CREATE INDEX "hookline_issue_events_event_id_idx" ON "hookline_issue_events"("event_id");
