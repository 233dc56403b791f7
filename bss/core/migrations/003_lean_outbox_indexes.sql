-- SPDX-License-Identifier: BSD-3-Clause
-- Two indexes of the outbox cost every write and served nothing:
--
-- * event_id's unique index. Event ids are random (UUID version 4, 122
--   random bits) and nothing looks an event up by its id here: consumers
--   dedupe by id in their own schema (inbox_seen), where the id is indexed.
--   Each insert, and the relay's numbering update, put an entry at a random
--   place of that index.
-- * seq's unique index held an entry for every unnumbered event (NULL) as
--   well; it now holds numbered events only, which is all that reads by seq
--   (the relay, replays, max(seq)) look at. seq stays unique.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP CONSTRAINT outbox_seq_key;
CREATE UNIQUE INDEX outbox_seq_key ON outbox (seq) WHERE seq IS NOT NULL;
