-- One outbox row per append instead of one per event: the row points at the seqs seq..last_seq that one
-- transaction wrote to one job (a batch of 100 events is one row, a single emit or a system event is a
-- range of one), and event_id is the first of them. Inserting, claiming and deleting a row per event was
-- the largest part of a batch's write set after the events themselves (ADR 0041). The relay reads a
-- range by (job_id, seq), delivers it whole, and retries or parks it whole; re-sending part of a range
-- is harmless, since the Valkey script refuses every id its stream already has.
-- Null means a range of one (last_seq = seq): rows from before this migration, and any row an instance of the
-- previous version inserts while a deployment is being upgraded, are read so.
alter table job_events.outbox add column last_seq bigint;
alter table job_events.outbox add constraint outbox_seq_range check (last_seq >= seq);
