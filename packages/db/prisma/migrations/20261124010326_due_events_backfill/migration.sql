-- Hand-written: a data move, and a storage parameter schema.prisma cannot express.
-- Fills the new work list from the inbox (before the next migration drops next_attempt_at), then
-- leaves a fifth of each page of hookline_events free: with the status no longer indexed, a status
-- change is a HOT update only when the new row version fits on the same page. The same for the
-- attempt rows, which are closed by an update.
INSERT INTO hookline_due_events (event_id, due_at)
SELECT id, CASE WHEN status = 'dead' THEN NULL ELSE next_attempt_at END
  FROM hookline_events
 WHERE status IN ('received', 'processing', 'failed', 'dead');

ALTER TABLE hookline_events SET (fillfactor = 80);
ALTER TABLE hookline_attempts SET (fillfactor = 80);
