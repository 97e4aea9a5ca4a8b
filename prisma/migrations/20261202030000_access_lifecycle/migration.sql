-- Access bundles granted to guests, and expiries of guests, bundle grants, group memberships and
-- app role assignments (issue 14). Written from `prisma migrate diff`, plus the partial unique
-- index Prisma cannot express (one active expiry per guest, kind and subject) and the grants.

-- CreateTable
CREATE TABLE "access_bundle_grants" (
    "id" UUID NOT NULL,
    "guest_id" UUID NOT NULL,
    "bundle" TEXT NOT NULL,
    "granted_by" JSONB NOT NULL,
    "granted_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6),
    "state" TEXT NOT NULL,
    "parts" JSONB NOT NULL,
    "operation_id" UUID NOT NULL,
    "ended_at" TIMESTAMPTZ(6),

    CONSTRAINT "access_bundle_grants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "access_expiries" (
    "id" UUID NOT NULL,
    "guest_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "label" TEXT,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "granted_by" JSONB NOT NULL,
    "state" TEXT NOT NULL,
    "reminded_days" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "outcome" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(6),

    CONSTRAINT "access_expiries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "access_bundle_grants_guest_id_state_idx" ON "access_bundle_grants"("guest_id", "state");

-- CreateIndex
CREATE INDEX "access_expiries_state_expires_at_idx" ON "access_expiries"("state", "expires_at");

-- CreateIndex
CREATE INDEX "access_expiries_guest_id_idx" ON "access_expiries"("guest_id");

-- One active expiry per piece of access: setting it again replaces the date.
CREATE UNIQUE INDEX "access_expiries_active_subject_key" ON "access_expiries"("guest_id", "kind", "subject") WHERE "state" = 'active';

GRANT SELECT, INSERT, UPDATE ON "access_bundle_grants" TO "guestgate_app";
GRANT SELECT, INSERT, UPDATE ON "access_expiries" TO "guestgate_app";
