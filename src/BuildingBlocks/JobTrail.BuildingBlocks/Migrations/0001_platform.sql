-- Shared pieces every module's policies use.
create schema if not exists jobtrail;
grant usage on schema jobtrail to ${app_role};

-- The workspace the current transaction acts for; NULL when unset, so "no setting means no rows".
create or replace function jobtrail.current_workspace_id() returns uuid
    language sql stable parallel safe
as $$ select nullif(current_setting('app.workspace_id', true), '')::uuid $$;

grant execute on function jobtrail.current_workspace_id() to ${app_role};

-- Rejects UPDATE/DELETE/TRUNCATE on append-only tables, even for their owner.
create or replace function jobtrail.reject_mutation() returns trigger
    language plpgsql
as $$
begin
    raise exception 'table %.% is append-only: % is not allowed', tg_table_schema, tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
end
$$;
