-- AlterEnum
ALTER TYPE "hookline_event_status" ADD VALUE 'skipped_stale';

-- AlterTable
ALTER TABLE "hookline_events" ADD COLUMN     "earlier_attempts" INTEGER NOT NULL DEFAULT 0;
