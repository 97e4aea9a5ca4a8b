-- CreateTable
CREATE TABLE "graph_write_budgets" (
    "bucket" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "rate" DOUBLE PRECISION NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,
    "paused_until" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "graph_write_budgets_pkey" PRIMARY KEY ("bucket")
);


GRANT SELECT, INSERT, UPDATE ON "graph_write_budgets" TO "guestgate_app";
