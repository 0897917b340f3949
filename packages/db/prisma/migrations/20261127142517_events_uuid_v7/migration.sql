-- AlterTable
ALTER TABLE "hookline_events" ALTER COLUMN "id" SET DEFAULT hookline_uuid_v7();
