create schema activity;
grant usage on schema activity to ${app_role};

-- One sequence for all workspaces: positions only ever grow (in the order rows are captured,
-- not committed), and no counter row serialises the writers of a workspace.
-- (PostgreSQL 15 has no identity columns on partitioned tables.)
create sequence activity.activity_logs_position_seq as bigint;
grant usage on sequence activity.activity_logs_position_seq to ${app_role};

create table activity.activity_logs (
    id uuid not null,
    position bigint not null default nextval('activity.activity_logs_position_seq'),
    workspace_id uuid not null,
    actor_id text not null,
    -- Byte order, so that "runner_job.*" is the index range ['runner_job.', 'runner_job/').
    action text collate "C" not null,
    entity_type text not null,
    entity_id text,
    outcome text not null check (outcome in ('SUCCEEDED', 'FAILED', 'DENIED')),
    metadata jsonb check (metadata is null or jsonb_typeof(metadata) = 'object'),
    ip_address inet,
    user_agent text,
    correlation_id text,
    occurred_at timestamptz not null,
    -- A unique key of a partitioned table must contain the partition key.
    primary key (id, occurred_at)
) partition by range (occurred_at);
alter sequence activity.activity_logs_position_seq owned by activity.activity_logs.position;

-- Every listing is "one workspace, maybe one filter, ordered by position".
create index activity_logs_workspace_position on activity.activity_logs (workspace_id, position desc);
create index activity_logs_workspace_actor on activity.activity_logs (workspace_id, actor_id, position desc);
create index activity_logs_workspace_action on activity.activity_logs (workspace_id, action, position desc);
create index activity_logs_workspace_entity on activity.activity_logs (workspace_id, entity_type, entity_id, position);
create index activity_logs_workspace_outcome on activity.activity_logs (workspace_id, outcome, position desc);

alter table activity.activity_logs enable row level security;
alter table activity.activity_logs force row level security;
create policy tenant_isolation on activity.activity_logs
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

-- Append-only: the service role may read and add, nothing else; the triggers refuse the rest
-- even to the owner. Row triggers on the parent are cloned onto every partition, present and
-- future; a TRUNCATE trigger only fires for the table named in the statement, so each partition
-- gets its own (see activity.ensure_partition).
grant select, insert on activity.activity_logs to ${app_role};
create trigger activity_logs_append_only
    before update or delete on activity.activity_logs
    for each row execute function jobtrail.reject_mutation();
create trigger activity_logs_no_truncate
    before truncate on activity.activity_logs
    for each statement execute function jobtrail.reject_mutation();

-- Creates the partition holding the UTC month of p_month, unless it exists; answers its name
-- when it was created. Partitions have row-level security forced and no policy, so addressed
-- directly they show nothing to anyone: rows are read and written through activity_logs only.
create function activity.ensure_partition(p_month date) returns text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    first_day date := date_trunc('month', p_month::timestamp)::date;
    partition_name text := 'activity_logs_' || to_char(first_day, 'YYYY_MM');
begin
    perform pg_advisory_xact_lock(hashtext('activity.activity_logs partitions'));
    if to_regclass('activity.' || quote_ident(partition_name)) is not null then
        return null;
    end if;

    execute format(
        'create table activity.%I partition of activity.activity_logs for values from (%L) to (%L)',
        partition_name,
        first_day::timestamp at time zone 'UTC',
        (first_day + interval '1 month')::timestamp at time zone 'UTC');
    execute format('alter table activity.%I enable row level security', partition_name);
    execute format('alter table activity.%I force row level security', partition_name);
    execute format(
        'create trigger activity_logs_no_truncate before truncate on activity.%I '
        'for each statement execute function jobtrail.reject_mutation()',
        partition_name);
    return partition_name;
end
$$;
revoke all on function activity.ensure_partition(date) from public;

-- Retention: drops, whole, every partition whose upper bound is at or before p_cutoff, and
-- answers their names. Rows are never deleted one by one.
create function activity.drop_partitions_ending_by(p_cutoff timestamptz) returns setof text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    part record;
    upper_bound timestamptz;
begin
    perform pg_advisory_xact_lock(hashtext('activity.activity_logs partitions'));
    for part in
        select c.relname, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'activity.activity_logs'::regclass
        order by c.relname
    loop
        -- "FOR VALUES FROM ('…') TO ('…')"; the literal carries its UTC offset.
        upper_bound := (regexp_match(part.bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz;
        if upper_bound is not null and upper_bound <= p_cutoff then
            execute format('drop table activity.%I', part.relname);
            return next part.relname;
        end if;
    end loop;
end
$$;
revoke all on function activity.drop_partitions_ending_by(timestamptz) from public;

-- The current month and the next three exist from the start; the partition job keeps ahead.
select activity.ensure_partition((date_trunc('month', now() at time zone 'UTC') + make_interval(months => m))::date)
from generate_series(0, 3) as m;
