-- AlterTable
ALTER TABLE "hookline_events" ALTER COLUMN "payload" DROP NOT NULL;
