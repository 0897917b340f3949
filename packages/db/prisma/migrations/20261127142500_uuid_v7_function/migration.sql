-- Hand-written: schema.prisma cannot declare a function.
-- A time-ordered UUID (RFC 9562 version 7: 48 bits of Unix milliseconds, then random bits) for
-- the inbox's ids. New ids land at the right edge of the primary key's index instead of on a
-- random leaf, so an insert dirties the same few pages as its neighbours: after a checkpoint, a
-- random leaf costs a full-page image in the WAL for almost every new event. Built from
-- gen_random_uuid() (PostgreSQL 13+), whose version bits 0100 become 0111.
CREATE OR REPLACE FUNCTION hookline_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;
