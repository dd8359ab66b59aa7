-- The HMAC chain over each job's events (docs/security.md). The key is not in the database: the
-- service computes each link in the emitting transaction, under the stream's row lock, from the
-- event as PostgreSQL stored it, and inserts it here. Links are append-only, like the events.
create table job_events.event_links (
    workspace_id uuid not null,
    job_id uuid not null,
    seq bigint not null check (seq >= 1),
    occurred_at timestamptz not null,
    row_digest bytea not null check (length(row_digest) = 32),
    prev_hash bytea check (prev_hash is null or length(prev_hash) = 32),
    hash bytea not null check (length(hash) = 32),
    key_id text not null,
    primary key (job_id, seq)
);

alter table job_events.event_links enable row level security;
alter table job_events.event_links force row level security;
create policy tenant_isolation on job_events.event_links
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

create trigger event_links_append_only
    before update or delete on job_events.event_links
    for each row execute function jobtrail.reject_mutation();
create trigger event_links_no_truncate
    before truncate on job_events.event_links
    for each statement execute function jobtrail.reject_mutation();

grant select, insert on job_events.event_links to ${app_role};

-- The hash of the job's last link, read with last_seq under the row lock, so the next append knows
-- what to link to without a second query. Verification never trusts it: it checks the links.
alter table job_events.job_streams add column last_hash bytea;
grant update (last_hash) on job_events.job_streams to ${app_role};
