-- The relay is sharded: a job belongs to partition relay_partition(job_id, N) of N, and each
-- partition is relayed by the one instance that holds its advisory lock. Every instance computes
-- the partition here, in the database they share, so they always agree; the outbox holds rows for
-- seconds, so the claim filters its index scan in outbox order rather than keeping a stored column.
create function job_events.relay_partition(job_id uuid, partitions integer) returns integer
    language sql
    immutable
    parallel safe
-- No SET clause, so that the planner inlines it (hashtext is in pg_catalog, always searched first).
as $$ select (hashtext(job_id::text) & 2147483647) % partitions $$;

grant execute on function job_events.relay_partition(uuid, integer) to ${app_role};
