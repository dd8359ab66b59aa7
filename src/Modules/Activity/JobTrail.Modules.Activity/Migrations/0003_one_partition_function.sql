-- One pair of partition functions for both partitioned tables (activity_logs by occurred_at,
-- chain by sealed_at), replacing the per-table copies of 0001 and 0002. Each table's partitions
-- are named <table>_YYYY_MM, cover one UTC month, have row-level security forced with no policy
-- (addressed directly they show nothing) and refuse TRUNCATE with a trigger of their own.

-- Only the module's two partitioned tables may be named: the function runs DDL as the owner.
create function activity.partitioned_table(p_table text) returns regclass
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    if p_table is null or p_table not in ('activity_logs', 'chain') then
        raise exception 'activity has no partitioned table named %', coalesce(p_table, 'null')
            using errcode = '22023';
    end if;
    return ('activity.' || p_table)::regclass;
end
$$;
revoke all on function activity.partitioned_table(text) from public;

-- Creates the partition of p_table holding the UTC month of p_month, unless it exists; answers
-- its name when it was created.
create function activity.ensure_partition(p_table text, p_month date) returns text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    parent regclass := activity.partitioned_table(p_table);
    first_day date := date_trunc('month', p_month::timestamp)::date;
    partition_name text := p_table || '_' || to_char(first_day, 'YYYY_MM');
begin
    -- Same lock key per table as the functions this replaces, so old and new never race.
    perform pg_advisory_xact_lock(hashtext(parent::text || ' partitions'));
    if to_regclass('activity.' || quote_ident(partition_name)) is not null then
        return null;
    end if;

    execute format(
        'create table activity.%I partition of %s for values from (%L) to (%L)',
        partition_name,
        parent,
        first_day::timestamp at time zone 'UTC',
        (first_day + interval '1 month')::timestamp at time zone 'UTC');
    execute format('alter table activity.%I enable row level security', partition_name);
    execute format('alter table activity.%I force row level security', partition_name);
    execute format(
        'create trigger %I before truncate on activity.%I '
        'for each statement execute function jobtrail.reject_mutation()',
        p_table || '_no_truncate',
        partition_name);
    return partition_name;
end
$$;
revoke all on function activity.ensure_partition(text, date) from public;

-- Retention: drops, whole, every partition of p_table whose upper bound is at or before
-- p_cutoff, and answers their names. Rows are never deleted one by one.
create function activity.drop_partitions_ending_by(p_table text, p_cutoff timestamptz) returns setof text
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
declare
    parent regclass := activity.partitioned_table(p_table);
    part record;
    upper_bound timestamptz;
begin
    perform pg_advisory_xact_lock(hashtext(parent::text || ' partitions'));
    for part in
        select c.relname, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = parent
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
revoke all on function activity.drop_partitions_ending_by(text, timestamptz) from public;

drop function activity.ensure_partition(date);
drop function activity.ensure_chain_partition(date);
drop function activity.drop_partitions_ending_by(timestamptz);
drop function activity.drop_chain_partitions_ending_by(timestamptz);
