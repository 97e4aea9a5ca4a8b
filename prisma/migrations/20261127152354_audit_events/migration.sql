-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGINT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "operation_id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "graph_request_id" TEXT,
    "actor_oid" TEXT NOT NULL,
    "actor_name" TEXT NOT NULL,
    "actor_tenant_id" TEXT NOT NULL,
    "actor_roles" TEXT[],
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "target_display_name" TEXT,
    "decision" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "rule_id" TEXT,
    "reason" TEXT,
    "policy_version" TEXT NOT NULL,
    "request_summary" JSONB NOT NULL DEFAULT '{}',
    "graph_status" INTEGER,
    "graph_error_code" TEXT,
    "message" TEXT,
    "prev_hash" TEXT,
    "hash" TEXT NOT NULL,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_events_actor_oid_id_idx" ON "audit_events"("actor_oid", "id");

-- CreateIndex
CREATE INDEX "audit_events_actor_name_id_idx" ON "audit_events"("actor_name", "id");

-- CreateIndex
CREATE INDEX "audit_events_action_id_idx" ON "audit_events"("action", "id");

-- CreateIndex
CREATE INDEX "audit_events_target_id_id_idx" ON "audit_events"("target_id", "id");

-- CreateIndex
CREATE INDEX "audit_events_operation_id_idx" ON "audit_events"("operation_id");

-- CreateIndex
CREATE INDEX "audit_events_occurred_at_id_idx" ON "audit_events"("occurred_at", "id");


-- Everything below is hand-written: Prisma's schema language cannot express it.

ALTER TABLE "audit_events"
  ADD CONSTRAINT "audit_events_decision_check" CHECK ("decision" IN ('allowed', 'denied')),
  ADD CONSTRAINT "audit_events_status_check" CHECK ("status" IN ('intent', 'succeeded', 'failed', 'denied', 'recorded'));

-- Ids are drawn by the insert trigger after it holds the chain lock, never by a column default:
-- a default is evaluated before the trigger runs, so ids would not follow chain (commit) order.
CREATE SEQUENCE "audit_events_id_seq" AS BIGINT OWNED BY "audit_events"."id";

-- The one definition of a row's hash, used by the insert trigger and by verification:
-- sha256 (hex) of the UTF-8 text "<prev_hash or empty>|<canonical row>", where the canonical
-- row is a jsonb array of the columns in table order (jsonb's text form is canonical: object
-- keys sorted, fixed spacing) and occurred_at is rendered in UTC with microseconds, so neither
-- the session TimeZone nor DateStyle changes the result.
CREATE FUNCTION "audit_event_hash"(e "audit_events") RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT encode(sha256(convert_to(
    coalesce(e.prev_hash, '') || '|' || jsonb_build_array(
      e.id,
      to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      e.operation_id,
      e.request_id,
      e.correlation_id,
      e.graph_request_id,
      e.actor_oid,
      e.actor_name,
      e.actor_tenant_id,
      e.actor_roles,
      e.action,
      e.target_type,
      e.target_id,
      e.target_display_name,
      e.decision,
      e.status,
      e.rule_id,
      e.reason,
      e.policy_version,
      e.request_summary,
      e.graph_status,
      e.graph_error_code,
      e.message
    )::text, 'UTF8')), 'hex')
$$;

-- Chains every new row: under one transaction-scoped advisory lock (held until commit), draw the
-- id, stamp the time, link to the newest row and hash. Appends are therefore serialized and id
-- order is commit order: a reader never sees a gap that a slower transaction fills later.
-- occurred_at never goes below the previous row's, even if the clock steps back, so time order is
-- chain order too and readers can turn a time range into an id range.
CREATE FUNCTION "audit_events_chain"() RETURNS TRIGGER
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
DECLARE
  head_hash TEXT;
  head_time TIMESTAMPTZ;
BEGIN
  -- A REPEATABLE READ or SERIALIZABLE snapshot predates the lock and could miss the newest
  -- row: refuse instead of forking the chain.
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'audit_events accepts inserts only under READ COMMITTED isolation';
  END IF;
  PERFORM pg_advisory_xact_lock(4702116372618003);
  SELECT "hash", "occurred_at" INTO head_hash, head_time FROM "audit_events" ORDER BY "id" DESC LIMIT 1;
  NEW.id := nextval('audit_events_id_seq');
  NEW.occurred_at := greatest(clock_timestamp(), head_time);
  NEW.prev_hash := head_hash;
  NEW.hash := audit_event_hash(NEW);
  RETURN NEW;
END
$$;

CREATE TRIGGER "audit_events_chain" BEFORE INSERT ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_chain"();

-- Append-only: rows are never updated; they are deleted only by audit_prune_through(), which
-- sets the transaction-local flag read here for the prefix a checkpoint row covers.
CREATE FUNCTION "audit_events_reject_change"() RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND OLD.id <= coalesce(nullif(current_setting('guestgate.audit_prune_through', true), '')::BIGINT, 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % rejected', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER "audit_events_no_update_delete" BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_reject_change"();

CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_reject_change"();

-- Retention: deletes the rows up to through_id, only once a checkpoint row that names this cut
-- (request_summary.prunedThroughId and .cutHash) has been appended, so verification can still
-- link the first remaining row. The only way past the delete trigger; not executable by PUBLIC
-- nor by guestgate_app. See docs/audit-retention.md.
CREATE FUNCTION "audit_prune_through"(through_id BIGINT) RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cut_hash TEXT;
  deleted BIGINT;
BEGIN
  SELECT "hash" INTO cut_hash FROM "audit_events" WHERE "id" = through_id;
  IF cut_hash IS NULL THEN
    RAISE EXCEPTION 'audit_prune_through: no audit row %', through_id;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM "audit_events"
    WHERE "action" = 'audit.checkpoint' AND "id" > through_id
      AND "request_summary" ->> 'prunedThroughId' = through_id::TEXT
      AND "request_summary" ->> 'cutHash' = cut_hash
  ) THEN
    RAISE EXCEPTION 'audit_prune_through: no checkpoint row records the cut at row %', through_id;
  END IF;
  PERFORM set_config('guestgate.audit_prune_through', through_id::TEXT, true);
  DELETE FROM "audit_events" WHERE "id" <= through_id;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('guestgate.audit_prune_through', '', true);
  RETURN deleted;
END
$$;

REVOKE ALL ON FUNCTION "audit_prune_through"(BIGINT) FROM PUBLIC;

-- The application's privileges. Roles are cluster-wide: another database of the same cluster
-- may have created it already, possibly at this very moment (hence unique_violation too).
-- The service connects as a LOGIN role that is a member of guestgate_app; migrations and
-- retention run as the owner.
DO $$
BEGIN
  CREATE ROLE "guestgate_app" NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO "guestgate_app"', current_schema());
END
$$;

REVOKE ALL ON "audit_events" FROM "guestgate_app";
GRANT SELECT, INSERT ON "audit_events" TO "guestgate_app";
GRANT USAGE ON SEQUENCE "audit_events_id_seq" TO "guestgate_app";
-- Read-only view of applied migrations, for the readiness check.
GRANT SELECT ON "_prisma_migrations" TO "guestgate_app";
