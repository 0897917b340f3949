-- DropForeignKey
ALTER TABLE "hookline_attempts" DROP CONSTRAINT "hookline_attempts_event_id_fkey";

-- DropForeignKey
ALTER TABLE "hookline_due_events" DROP CONSTRAINT "hookline_due_events_event_id_fkey";
