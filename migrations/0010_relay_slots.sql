-- Up Migration
-- Which logical replication slots the relay setup created. A slot that is recorded here but no longer exists
-- was lost (dropped, or invalidated by max_slot_wal_keep_size): the relay refuses to start rather than
-- silently creating a fresh slot that would skip every event committed since the old slot's position.
CREATE TABLE relay_slots (
  slot_name      text        PRIMARY KEY,
  publication    text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- Set by the explicit ops action (settle-ops relay recreate-slot), never by the relay itself.
  recreated_at   timestamptz,
  recreate_count integer     NOT NULL DEFAULT 0
);

-- Down Migration
DROP TABLE IF EXISTS relay_slots;
