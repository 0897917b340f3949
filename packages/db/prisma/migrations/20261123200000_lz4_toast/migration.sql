-- Hand-written: schema.prisma cannot express column compression.
-- The large values of the inbox (payload, raw body, headers) are compressed with lz4 instead of
-- pglz when TOAST compresses them: several times faster to write, for about the same size on
-- JSON. In the ingest benchmark, Postgres spent about 20 us less per event.
-- Needs PostgreSQL 14+ built with lz4 (as the Debian packages and the official images are).
-- Other servers keep pglz. Existing values stay as they are, and both kinds read back the same.
-- Dynamic SQL, because PostgreSQL 13 cannot even parse SET COMPRESSION.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE 'ALTER TABLE hookline_events ALTER COLUMN payload SET COMPRESSION lz4, '
         || 'ALTER COLUMN raw_body SET COMPRESSION lz4, ALTER COLUMN headers SET COMPRESSION lz4';
  END IF;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server: the inbox keeps pglz compression';
END
$$;
