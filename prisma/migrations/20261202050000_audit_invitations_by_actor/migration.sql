-- "My guests" (GET /v1/guests?invitedBy=me): the invitation outcome rows of one requester,
-- newest first, read a page at a time without scanning the requester's other rows.
-- CreateIndex
CREATE INDEX "audit_events_action_actor_oid_id_idx" ON "audit_events"("action", "actor_oid", "id");
