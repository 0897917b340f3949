-- CreateTable
CREATE TABLE "hookline_due_events" (
    "event_id" UUID NOT NULL,
    "due_at" TIMESTAMPTZ(3),

    CONSTRAINT "hookline_due_events_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE INDEX "hookline_due_events_due_at_idx" ON "hookline_due_events"("due_at");

-- AddForeignKey
ALTER TABLE "hookline_due_events" ADD CONSTRAINT "hookline_due_events_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "hookline_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
