create schema job_steps;
grant usage on schema job_steps to ${app_role};

create table job_steps.steps (
    id uuid primary key,
    workspace_id uuid not null,
    job_id uuid not null,
    ordinal integer not null check (ordinal >= 1),
    name text not null,
    phase text not null check (phase in ('SETUP', 'EXECUTION', 'VALIDATION', 'CLEANUP')),
    type text not null check (type in ('COMMAND', 'AI_ACTION', 'GATE', 'ARTIFACT')),
    status text not null check (status in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')),
    created_by text not null,
    created_at timestamptz not null,
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms bigint,
    tokens_input bigint not null default 0 check (tokens_input >= 0),
    tokens_output bigint not null default 0 check (tokens_output >= 0),
    error text,
    constraint steps_job_ordinal unique (job_id, ordinal)
);
create index steps_workspace_job on job_steps.steps (workspace_id, job_id, ordinal);

alter table job_steps.steps enable row level security;
alter table job_steps.steps force row level security;
create policy tenant_isolation on job_steps.steps
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

grant select, insert on job_steps.steps to ${app_role};
grant update (status, started_at, completed_at, duration_ms, tokens_input, tokens_output, error) on job_steps.steps to ${app_role};
