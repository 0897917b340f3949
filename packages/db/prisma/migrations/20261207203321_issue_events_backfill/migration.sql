-- Hand-written: a data move. Every event an issue counted so far is one with an attempt of its
-- fingerprint.
INSERT INTO hookline_issue_events (fingerprint, event_id, first_seen)
SELECT fingerprint, event_id, min(started_at)
  FROM hookline_attempts
 WHERE fingerprint IS NOT NULL
 GROUP BY fingerprint, event_id;
