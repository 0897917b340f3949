-- CreateEnum
CREATE TYPE "invoice_status" AS ENUM ('open', 'paid');

-- CreateTable
CREATE TABLE "customers" (
    "id" SERIAL NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "email" TEXT,
    "name" TEXT,
    "total_paid" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invoices" (
    "id" SERIAL NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "customer_stripe_id" TEXT NOT NULL,
    "amount_due" INTEGER NOT NULL,
    "amount_paid" INTEGER NOT NULL DEFAULT 0,
    "status" "invoice_status" NOT NULL DEFAULT 'open',
    "paid_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invoices_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "customers_stripe_id_key" ON "customers"("stripe_id");

-- CreateIndex
CREATE UNIQUE INDEX "invoices_stripe_id_key" ON "invoices"("stripe_id");
