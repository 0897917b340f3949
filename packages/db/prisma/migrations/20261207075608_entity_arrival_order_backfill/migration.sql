-- Hand-written: the events already waiting get their entity, and arrival numbers in inbox id
-- order (ids are time-ordered), ahead of every event stored from now on.
UPDATE "hookline_due_events" AS d
   SET "provider" = CASE WHEN e."entity_key" IS NOT NULL THEN e."provider" END, "entity_key" = e."entity_key",
       "seq" = o."rn"
  FROM "hookline_events" AS e,
       (SELECT "event_id", row_number() OVER (ORDER BY "event_id") AS "rn" FROM "hookline_due_events") AS o
 WHERE e."id" = d."event_id" AND o."event_id" = d."event_id";
SELECT setval(pg_get_serial_sequence('hookline_due_events', 'seq'), (SELECT count(*) + 1 FROM "hookline_due_events"), false);
