-- CreateTable
CREATE TABLE "idempotency_keys" (
    "principal" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "response_status" INTEGER,
    "response_headers" JSONB,
    "response_body" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_until" TIMESTAMPTZ(6) NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("principal","key")
);

-- CreateTable
CREATE TABLE "reconciler_runs" (
    "id" BIGSERIAL NOT NULL,
    "replica" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "finished_at" TIMESTAMPTZ(6) NOT NULL,
    "examined" INTEGER NOT NULL,
    "present" INTEGER NOT NULL,
    "absent" INTEGER NOT NULL,
    "unknown" INTEGER NOT NULL,
    "unreadable" INTEGER NOT NULL,
    "unsettled" INTEGER NOT NULL,
    "watermark" BIGINT NOT NULL,
    "error" TEXT,

    CONSTRAINT "reconciler_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");

-- CreateIndex
CREATE INDEX "reconciler_runs_finished_at_idx" ON "reconciler_runs"("finished_at");


-- Everything below is hand-written.

-- reconciled: the outcome was settled later by reading Graph (after a timeout, a crash or an
-- answer that did not say whether the write was applied); dry-run: a request that only planned.
ALTER TABLE "audit_events" DROP CONSTRAINT "audit_events_status_check";
ALTER TABLE "audit_events"
  ADD CONSTRAINT "audit_events_status_check"
  CHECK ("status" IN ('intent', 'succeeded', 'failed', 'denied', 'recorded', 'reconciled', 'dry-run'));

-- The reconciler and the unsettled filter walk intents above a watermark, newest writes only.
CREATE INDEX "audit_events_intent_id_idx" ON "audit_events" ("id") WHERE "status" = 'intent';

ALTER TABLE "idempotency_keys"
  ADD CONSTRAINT "idempotency_keys_state_check" CHECK ("state" IN ('in-progress', 'completed'));

GRANT SELECT, INSERT, UPDATE, DELETE ON "idempotency_keys" TO "guestgate_app";
GRANT SELECT, INSERT ON "reconciler_runs" TO "guestgate_app";
GRANT USAGE ON SEQUENCE "reconciler_runs_id_seq" TO "guestgate_app";
