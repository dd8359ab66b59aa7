create schema runner_jobs;
grant usage on schema runner_jobs to ${app_role};

create table runner_jobs.jobs (
    id uuid primary key,
    workspace_id uuid not null,
    type text not null,
    name text,
    status text not null check (status in ('PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    metadata jsonb,
    created_by text not null,
    created_at timestamptz not null,
    queued_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms bigint,
    error text
);
-- Keyset listing: newest first, optionally narrowed by status or type.
create index jobs_workspace_id on runner_jobs.jobs (workspace_id, id desc);
create index jobs_workspace_status on runner_jobs.jobs (workspace_id, status, id desc);
create index jobs_workspace_type on runner_jobs.jobs (workspace_id, type, id desc);

alter table runner_jobs.jobs enable row level security;
alter table runner_jobs.jobs force row level security;
create policy tenant_isolation on runner_jobs.jobs
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

grant select, insert on runner_jobs.jobs to ${app_role};
grant update (status, queued_at, started_at, completed_at, duration_ms, error) on runner_jobs.jobs to ${app_role};
