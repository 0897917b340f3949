-- Hand-written: a data move, and a storage parameter schema.prisma cannot express.
-- Fills the new work list from the inbox (before the next migration drops next_attempt_at), then
-- leaves 30 % of each new page of hookline_events free: with the status no longer indexed, a status
-- change is a HOT update (no index writes) only when the new row version fits on the same page.
-- In the drain benchmark 59 % of the updates were HOT at 70, 29 % at 80 and 88 % at 50; 70 costs
-- the inbox about 40 % more heap pages. The attempt rows, closed by an update, keep 20 % free.
INSERT INTO hookline_due_events (event_id, due_at)
SELECT id, CASE WHEN status = 'dead' THEN NULL ELSE next_attempt_at END
  FROM hookline_events
 WHERE status IN ('received', 'processing', 'failed', 'dead');

ALTER TABLE hookline_events SET (fillfactor = 70);
ALTER TABLE hookline_attempts SET (fillfactor = 80);
