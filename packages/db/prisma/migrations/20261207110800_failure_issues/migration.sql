-- CreateEnum
CREATE TYPE "hookline_issue_status" AS ENUM ('open', 'resolved');

-- AlterTable
ALTER TABLE "hookline_attempts" ADD COLUMN     "fingerprint" TEXT;

-- CreateTable
CREATE TABLE "hookline_issues" (
    "fingerprint" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "error_class" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "first_seen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "count" INTEGER NOT NULL DEFAULT 0,
    "events" INTEGER NOT NULL DEFAULT 0,
    "status" "hookline_issue_status" NOT NULL DEFAULT 'open',
    "resolved_at" TIMESTAMPTZ(3),
    "reopened" INTEGER NOT NULL DEFAULT 0,
    "reopened_at" TIMESTAMPTZ(3),

    CONSTRAINT "hookline_issues_pkey" PRIMARY KEY ("fingerprint")
);

-- CreateIndex
CREATE INDEX "hookline_issues_last_seen_idx" ON "hookline_issues"("last_seen");

-- CreateIndex
CREATE INDEX "hookline_attempts_fingerprint_event_id_idx" ON "hookline_attempts"("fingerprint", "event_id");
