-- The HMAC chain over each workspace's activity (docs/security.md, docs/adr/0011). Captures do not
-- wait for it: a single sealer (ActivityChainSealer, running as the owner role) links committed rows
-- a moment later, in the order of the transaction that wrote them, into activity.chain.

-- The top-level transaction id of the row's writer, so the sealer can tell which rows may still be
-- joined by a transaction that has not committed yet. Rows written before this migration get 0:
-- they were all committed long ago, and are sealed first, in position order.
alter table activity.activity_logs add column xact_id xid8 not null default '0';
alter table activity.activity_logs alter column xact_id set default pg_current_xact_id();
create index activity_logs_xact_position on activity.activity_logs (xact_id, position);

-- The service role writes exactly the captured columns: position and xact_id come from their
-- defaults, so no writer can place a row behind the sealer or ahead of its own transaction.
revoke insert on activity.activity_logs from ${app_role};
grant insert (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent,
              correlation_id, occurred_at)
    on activity.activity_logs to ${app_role};

-- One link per sealed row: seq is per workspace, gapless from 1. Partitioned by the UTC month of
-- sealing so retention drops links the way it drops rows, whole months at a time; sealed_at never
-- goes backwards, so what is dropped is always the oldest part of each workspace's chain.
create table activity.chain (
    workspace_id uuid not null,
    seq bigint not null check (seq >= 1),
    activity_id uuid not null,
    occurred_at timestamptz not null,
    row_digest bytea not null check (length(row_digest) = 32),
    prev_hash bytea check (prev_hash is null or length(prev_hash) = 32),
    hash bytea not null check (length(hash) = 32),
    key_id text not null,
    sealed_at timestamptz not null,
    primary key (workspace_id, seq, sealed_at)
) partition by range (sealed_at);

-- Where each workspace's chain ends; written only by the sealer.
create table activity.chain_heads (
    workspace_id uuid primary key,
    last_seq bigint not null check (last_seq >= 1),
    last_hash bytea not null,
    sealed_at timestamptz not null
);

-- The sealer's position: everything up to (last_xact_id, last_position) is linked.
create table activity.sealer_state (
    singleton boolean primary key default true check (singleton),
    last_xact_id xid8 not null default '0',
    last_position bigint not null default 0,
    last_round_at timestamptz not null default '-infinity'
);
insert into activity.sealer_state default values;

alter table activity.chain enable row level security;
alter table activity.chain force row level security;
create policy tenant_isolation on activity.chain
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

alter table activity.chain_heads enable row level security;
alter table activity.chain_heads force row level security;
create policy tenant_isolation on activity.chain_heads
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

-- The sealer links every workspace's rows in one pass, so the role that runs it (the owner, which
-- could lift row-level security from its own tables anyway) reads all activity and writes all
-- links. Never for the service role: when one role does both (JobTrail:PostgresOwner unset, a
-- set-up the service warns about) these policies are not created and the sealer stays off.
do $$
begin
    if quote_ident(current_user)::regrole <> '${app_role}'::regrole then
        execute format('create policy sealer_reads_every_workspace on activity.activity_logs for select to %I using (true)', current_user);
        execute format('create policy sealer_links_every_workspace on activity.chain for all to %I using (true) with check (true)', current_user);
        execute format('create policy sealer_moves_every_head on activity.chain_heads for all to %I using (true) with check (true)', current_user);
    end if;
end
$$;

create trigger chain_append_only
    before update or delete on activity.chain
    for each row execute function jobtrail.reject_mutation();
create trigger chain_no_truncate
    before truncate on activity.chain
    for each statement execute function jobtrail.reject_mutation();

grant select on activity.chain to ${app_role};
grant select on activity.chain_heads to ${app_role};

-- As activity.ensure_partition, for the chain: chain_YYYY_MM holds the links sealed in that month.
create function activity.ensure_chain_partition(p_month date) returns text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    first_day date := date_trunc('month', p_month::timestamp)::date;
    partition_name text := 'chain_' || to_char(first_day, 'YYYY_MM');
begin
    perform pg_advisory_xact_lock(hashtext('activity.chain partitions'));
    if to_regclass('activity.' || quote_ident(partition_name)) is not null then
        return null;
    end if;

    execute format(
        'create table activity.%I partition of activity.chain for values from (%L) to (%L)',
        partition_name,
        first_day::timestamp at time zone 'UTC',
        (first_day + interval '1 month')::timestamp at time zone 'UTC');
    execute format('alter table activity.%I enable row level security', partition_name);
    execute format('alter table activity.%I force row level security', partition_name);
    execute format(
        'create trigger chain_no_truncate before truncate on activity.%I '
        'for each statement execute function jobtrail.reject_mutation()',
        partition_name);
    return partition_name;
end
$$;
revoke all on function activity.ensure_chain_partition(date) from public;

-- As activity.drop_partitions_ending_by, for the chain.
create function activity.drop_chain_partitions_ending_by(p_cutoff timestamptz) returns setof text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    part record;
    upper_bound timestamptz;
begin
    perform pg_advisory_xact_lock(hashtext('activity.chain partitions'));
    for part in
        select c.relname, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'activity.chain'::regclass
        order by c.relname
    loop
        upper_bound := (regexp_match(part.bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz;
        if upper_bound is not null and upper_bound <= p_cutoff then
            execute format('drop table activity.%I', part.relname);
            return next part.relname;
        end if;
    end loop;
end
$$;
revoke all on function activity.drop_chain_partitions_ending_by(timestamptz) from public;

-- Since when activity is kept: the start of the oldest partition. A link whose row is gone is
-- explained by retention only when the row occurred before this.
create function activity.kept_since() returns timestamptz
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    select min((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz)
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'activity.activity_logs'::regclass
$$;
grant execute on function activity.kept_since() to ${app_role};

select activity.ensure_chain_partition((date_trunc('month', now() at time zone 'UTC') + make_interval(months => m))::date)
from generate_series(0, 3) as m;
