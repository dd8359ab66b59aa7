-- Dashboard sessions (docs/adr/0027): a browser signs in with an API key once and then holds only a
-- random session id in an HttpOnly cookie. The table keeps the id's SHA-256, never the id, so a
-- copy of the database cannot be replayed as a cookie. Like the directory tables it is read before
-- a workspace is known, so it has no row-level security; the service role has no privileges on it
-- at all and reaches it only through the three functions below.
create table access.ui_sessions (
    id_hash bytea primary key check (length(id_hash) = 32),
    workspace_id uuid not null,
    api_key_id uuid not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    ended_at timestamptz
);
create index ui_sessions_key on access.ui_sessions (api_key_id);

-- Starts a session for a key (authenticated by the caller); sweeps that key's dead sessions.
create function access.start_ui_session(p_id_hash bytea, p_key_id uuid, p_lifetime interval)
    returns timestamptz
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    ws uuid;
    expires timestamptz := clock_timestamp() + p_lifetime;
begin
    select d.workspace_id into ws from access.api_key_directory d where d.key_id = p_key_id;
    if ws is null then
        raise exception 'unknown api key %', p_key_id using errcode = 'no_data_found';
    end if;
    delete from access.ui_sessions s
    where s.api_key_id = p_key_id and (s.ended_at is not null or s.expires_at < clock_timestamp());
    insert into access.ui_sessions (id_hash, workspace_id, api_key_id, created_at, expires_at)
    values (p_id_hash, ws, p_key_id, clock_timestamp(), expires);
    return expires;
end
$$;

-- The live session's key, read like access.find_api_key reads one: nothing once ended or expired.
create function access.find_ui_session(p_id_hash bytea)
    returns table (key_id uuid, workspace_id uuid, actor_id text, scopes text[], revoked boolean, expires_at timestamptz)
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    s access.ui_sessions;
begin
    select * into s from access.ui_sessions u
    where u.id_hash = p_id_hash and u.ended_at is null and u.expires_at > clock_timestamp();
    if s.id_hash is null then
        return;
    end if;
    perform set_config('app.workspace_id', s.workspace_id::text, true);
    return query
        select k.id, k.workspace_id, k.actor_id, k.scopes, k.revoked_at is not null, s.expires_at
        from access.api_keys k
        where k.id = s.api_key_id;
end
$$;

-- Ends a session for every instance at once; answers whether it was live.
create function access.end_ui_session(p_id_hash bytea)
    returns boolean
    language sql volatile security definer
    set search_path = pg_catalog, pg_temp
as $$
    with ended as (
        update access.ui_sessions set ended_at = clock_timestamp()
        where id_hash = p_id_hash and ended_at is null
        returning 1)
    select exists (select 1 from ended);
$$;

revoke all on function access.start_ui_session(bytea, uuid, interval) from public;
revoke all on function access.find_ui_session(bytea) from public;
revoke all on function access.end_ui_session(bytea) from public;
grant execute on function access.start_ui_session(bytea, uuid, interval) to ${app_role};
grant execute on function access.find_ui_session(bytea) to ${app_role};
grant execute on function access.end_ui_session(bytea) to ${app_role};
