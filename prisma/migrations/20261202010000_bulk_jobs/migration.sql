-- CreateTable
CREATE TABLE "bulk_jobs" (
    "id" UUID NOT NULL,
    "principal" JSONB NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "submitter_oid" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "file_sha256" TEXT NOT NULL,
    "row_count" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),
    "cancelled_at" TIMESTAMPTZ(6),

    CONSTRAINT "bulk_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bulk_job_rows" (
    "job_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "email" TEXT NOT NULL,
    "input" JSONB,
    "state" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "guest_id" TEXT,
    "redeem_url" TEXT,
    "outcome" TEXT,
    "error_code" TEXT,
    "error_field" TEXT,
    "error_message" TEXT,
    "operation_id" UUID,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "bulk_job_rows_pkey" PRIMARY KEY ("job_id","number")
);

-- CreateIndex
CREATE INDEX "bulk_jobs_submitter_created_idx" ON "bulk_jobs"("submitter_oid", "created_at");

-- CreateIndex
CREATE INDEX "bulk_job_rows_job_state_idx" ON "bulk_job_rows"("job_id", "state");

-- AddForeignKey
ALTER TABLE "bulk_job_rows" ADD CONSTRAINT "bulk_job_rows_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "bulk_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Everything below is hand-written.

ALTER TABLE "bulk_jobs" ADD CONSTRAINT "bulk_jobs_state_check"
  CHECK ("state" IN ('queued', 'running', 'completed', 'cancelled'));
ALTER TABLE "bulk_job_rows" ADD CONSTRAINT "bulk_job_rows_state_check"
  CHECK ("state" IN ('pending', 'running', 'succeeded', 'failed', 'cancelled'));

GRANT SELECT, INSERT, UPDATE ON "bulk_jobs", "bulk_job_rows" TO "guestgate_app";
