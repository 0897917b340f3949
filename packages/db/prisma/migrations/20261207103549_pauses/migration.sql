-- CreateTable
CREATE TABLE "hookline_pauses" (
    "provider" TEXT NOT NULL,
    "type" TEXT NOT NULL DEFAULT '',
    "since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "note" TEXT,

    CONSTRAINT "hookline_pauses_pkey" PRIMARY KEY ("provider","type")
);
