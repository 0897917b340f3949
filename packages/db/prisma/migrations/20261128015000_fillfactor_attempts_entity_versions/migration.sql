-- Hand-written: storage parameters schema.prisma cannot express.
-- An attempt row is inserted by the claim and closed by an update in the worker's next
-- transaction; an entity's version row is created (or locked) and then updated in one processing
-- transaction. Neither update changes an indexed column, so each is HOT (no index writes, a short
-- WAL record) when the new row version fits on its page. A batch claims, and later closes, the
-- attempts that share a page together, and creates and moves the versions that share a page in one
-- transaction, so the old versions cannot be pruned in between: at fill factor 80 (attempts) and
-- 100 (versions) about half and almost none of these updates were HOT in the end-to-end benchmark;
-- at 50, 93 % and all. The WAL per processed event went from 31.6 records and 4,733 bytes to 28.9
-- and 4,443. The rows are small (~100 bytes), so the free space costs little disk.
ALTER TABLE hookline_entity_versions SET (fillfactor = 50);
ALTER TABLE hookline_attempts SET (fillfactor = 50);
