/*
  Warnings:

  - You are about to drop the column `next_attempt_at` on the `hookline_events` table. All the data in the column will be lost.

*/
-- DropIndex
DROP INDEX "hookline_events_status_next_attempt_at_idx";

-- AlterTable
ALTER TABLE "hookline_events" DROP COLUMN "next_attempt_at";
