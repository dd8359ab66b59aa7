-- job_events.events becomes range-partitioned by the UTC month of recorded_at (the service's clock
-- at append, never the client's occurred_at), so retention drops whole months (ADR 0032). Rows move
-- over in this transaction; ids, seqs and positions are kept.
--
-- A partitioned table's unique constraints must contain the partition key, so:
-- * the primary key is (id, recorded_at); ids are random UUIDs taken by the service;
-- * (job_id, seq) keeps its index but is unique by construction: seqs are handed out under the
--   stream's row lock (last_seq only advances, 0004), and every append also inserts its link into
--   job_events.event_links, whose primary key (job_id, seq) is global;
-- * position comes from a sequence (PostgreSQL 15 has no identity on partitioned tables), so it stays
--   unique without a constraint; the service still never names it in its INSERT;
-- * Idempotency-Key uniqueness lives in job_events.idempotency_keys (unchanged), the events keep
--   their (job_id, idempotency_key) index for replays.
alter table job_events.events rename to events_unpartitioned;
alter table job_events.events_unpartitioned rename constraint events_pkey to events_unpartitioned_pkey;
alter table job_events.events_unpartitioned rename constraint events_job_seq to events_unpartitioned_job_seq;
alter table job_events.events_unpartitioned rename constraint events_position to events_unpartitioned_position;
alter index job_events.events_job_idempotency_key rename to events_unpartitioned_job_idempotency_key;
-- The owner moves every workspace's rows: the old table's row-level security goes first.
drop policy tenant_isolation on job_events.events_unpartitioned;
alter table job_events.events_unpartitioned no force row level security;
alter table job_events.events_unpartitioned disable row level security;

create sequence job_events.event_position_seq as bigint;
grant usage on sequence job_events.event_position_seq to ${app_role};

create table job_events.events (
    id uuid not null,
    workspace_id uuid not null,
    job_id uuid not null,
    seq bigint not null check (seq >= 1),
    position bigint not null default nextval('job_events.event_position_seq'),
    type text not null check (type ~ '^[a-z]+\.[a-z_]+$'),
    step_id uuid,
    payload jsonb check (payload is null or jsonb_typeof(payload) = 'object'),
    actor_id text not null,
    correlation_id text not null,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null,
    idempotency_key text,
    constraint events_pkey primary key (id, recorded_at)
) partition by range (recorded_at);
alter sequence job_events.event_position_seq owned by job_events.events.position;

-- Per-job keyset paging and lookups: one index range per partition, merged in seq order.
create index events_job_seq on job_events.events (job_id, seq);
create index events_position on job_events.events (position);
create index events_job_idempotency_key on job_events.events (job_id, idempotency_key) where idempotency_key is not null;


-- The newest upper bound retention has dropped: events recorded before it may be gone. Verification
-- reads it to tell retention from removal. Only the owner's maintenance writes it.
create table job_events.retention_state (
    singleton boolean primary key default true check (singleton),
    dropped_before timestamptz not null
);
grant select on job_events.retention_state to ${app_role};

-- Creates the partition of the UTC month of p_month unless it exists; answers its name when created.
-- Partitions have row-level security forced and no policy: addressed directly they show nothing.
create function job_events.ensure_partition(p_month date) returns text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    first_day date := date_trunc('month', p_month::timestamp)::date;
    partition_name text := 'events_' || to_char(first_day, 'YYYY_MM');
begin
    perform pg_advisory_xact_lock(hashtext('job_events.events partitions'));
    if to_regclass('job_events.' || quote_ident(partition_name)) is not null then
        return null;
    end if;

    execute format(
        'create table job_events.%I partition of job_events.events for values from (%L) to (%L)',
        partition_name,
        first_day::timestamp at time zone 'UTC',
        (first_day + interval '1 month')::timestamp at time zone 'UTC');
    execute format('alter table job_events.%I enable row level security', partition_name);
    execute format('alter table job_events.%I force row level security', partition_name);
    execute format(
        'create trigger events_no_truncate before truncate on job_events.%I '
        'for each statement execute function jobtrail.reject_mutation()',
        partition_name);
    return partition_name;
end
$$;
revoke all on function job_events.ensure_partition(date) from public;

-- Retention: drops, whole, every partition whose upper bound is at or before p_cutoff, answers
-- their names and records the newest bound dropped. Events are never deleted one by one.
create function job_events.drop_partitions_ending_by(p_cutoff timestamptz) returns setof text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    part record;
    upper_bound timestamptz;
begin
    perform pg_advisory_xact_lock(hashtext('job_events.events partitions'));
    for part in
        select c.relname, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'job_events.events'::regclass
        order by c.relname
    loop
        upper_bound := (regexp_match(part.bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz;
        if upper_bound is not null and upper_bound <= p_cutoff then
            execute format('drop table job_events.%I', part.relname);
            insert into job_events.retention_state (dropped_before) values (upper_bound)
                on conflict (singleton) do update set dropped_before = greatest(job_events.retention_state.dropped_before, excluded.dropped_before);
            return next part.relname;
        end if;
    end loop;
end
$$;
revoke all on function job_events.drop_partitions_ending_by(timestamptz) from public;

-- Every month from the oldest row's to the current one plus three (or the newest row's, if later).
select job_events.ensure_partition(m::date)
from generate_series(
    date_trunc('month', least(coalesce((select min(recorded_at) from job_events.events_unpartitioned), now()), now()) at time zone 'UTC'),
    date_trunc('month', greatest(coalesce((select max(recorded_at) from job_events.events_unpartitioned), now()), now() + interval '3 months') at time zone 'UTC'),
    interval '1 month') as m;

insert into job_events.events
    (id, workspace_id, job_id, seq, position, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)
select id, workspace_id, job_id, seq, position, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key
from job_events.events_unpartitioned;

select setval('job_events.event_position_seq', greatest((select max(position) from job_events.events), 1),
              (select max(position) from job_events.events) is not null);

-- DROP TABLE fires no row or truncate trigger; the rows live on in the partitions.
drop table job_events.events_unpartitioned;

-- Row-level security, immutability and grants, as before (partitions got theirs from ensure_partition).
alter table job_events.events enable row level security;
alter table job_events.events force row level security;
create policy tenant_isolation on job_events.events
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

create trigger events_append_only
    before update or delete on job_events.events
    for each row execute function jobtrail.reject_mutation();
create trigger events_no_truncate
    before truncate on job_events.events
    for each statement execute function jobtrail.reject_mutation();

grant select, insert on job_events.events to ${app_role};
