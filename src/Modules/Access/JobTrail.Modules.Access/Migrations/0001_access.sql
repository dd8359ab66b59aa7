create schema access;
grant usage on schema access to ${app_role};

create table access.workspaces (
    workspace_id uuid primary key,
    slug text not null,
    name text not null,
    created_at timestamptz not null,
    created_by text not null
);

-- Directory tables hold what must be found before a workspace is known (a slug's owner, a key's
-- workspace). They have no row-level security; the service role may only insert into them and
-- reads them solely through access.find_api_key().
create table access.workspace_slugs (
    slug text primary key,
    workspace_id uuid not null unique
);

create table access.api_key_directory (
    key_id uuid primary key,
    workspace_id uuid not null
);

create table access.api_keys (
    id uuid primary key,
    workspace_id uuid not null references access.workspaces (workspace_id),
    name text not null,
    actor_id text not null,
    scopes text[] not null,
    secret_hash bytea not null,
    created_at timestamptz not null,
    created_by text not null,
    revoked_at timestamptz,
    revoked_by text
);
create index api_keys_workspace_created on access.api_keys (workspace_id, id);

alter table access.workspaces enable row level security;
alter table access.workspaces force row level security;
create policy tenant_isolation on access.workspaces
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

alter table access.api_keys enable row level security;
alter table access.api_keys force row level security;
create policy tenant_isolation on access.api_keys
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

grant select, insert on access.workspaces to ${app_role};
grant select, insert on access.api_keys to ${app_role};
grant update (revoked_at, revoked_by) on access.api_keys to ${app_role};
grant insert on access.workspace_slugs to ${app_role};
grant insert on access.api_key_directory to ${app_role};

-- Authentication happens before the workspace is known: find the key's workspace in the
-- directory, pin it for this transaction, then read the key under row-level security.
create function access.find_api_key(p_key_id uuid)
    returns table (workspace_id uuid, actor_id text, scopes text[], secret_hash bytea, revoked boolean)
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    ws uuid;
begin
    select d.workspace_id into ws from access.api_key_directory d where d.key_id = p_key_id;
    if ws is null then
        return;
    end if;
    perform set_config('app.workspace_id', ws::text, true);
    return query
        select k.workspace_id, k.actor_id, k.scopes, k.secret_hash, k.revoked_at is not null
        from access.api_keys k
        where k.id = p_key_id;
end
$$;
revoke all on function access.find_api_key(uuid) from public;
grant execute on function access.find_api_key(uuid) to ${app_role};
