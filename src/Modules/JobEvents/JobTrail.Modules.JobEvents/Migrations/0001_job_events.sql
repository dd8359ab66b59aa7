create schema job_events;
grant usage on schema job_events to ${app_role};

-- One row per job, created by its first event. Appending locks it (per-job order = seq order =
-- commit order) and advances last_seq; the job's terminal event seals it.
create table job_events.job_streams (
    job_id uuid primary key,
    workspace_id uuid not null,
    last_seq bigint not null check (last_seq >= 0),
    created_at timestamptz not null,
    sealed_at timestamptz
);

-- The append-only log. seq is per job, gapless from 1; position orders all events globally (in
-- insert order, which across jobs need not be commit order).
create table job_events.events (
    id uuid primary key,
    workspace_id uuid not null,
    job_id uuid not null,
    seq bigint not null check (seq >= 1),
    position bigint not null generated always as identity,
    type text not null check (type ~ '^[a-z]+\.[a-z_]+$'),
    step_id uuid,
    payload jsonb check (payload is null or jsonb_typeof(payload) = 'object'),
    actor_id text not null,
    correlation_id text not null,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null,
    idempotency_key text,
    constraint events_job_seq unique (job_id, seq),
    constraint events_position unique (position)
);
-- Replaying a keyed request finds its events; uniqueness is job_events.idempotency_keys' job.
create index events_job_idempotency_key on job_events.events (job_id, idempotency_key) where idempotency_key is not null;

-- One row per Idempotency-Key a client used on a job: a single emit or a whole batch.
create table job_events.idempotency_keys (
    job_id uuid not null,
    idempotency_key text not null,
    workspace_id uuid not null,
    request_hash bytea not null,
    created_at timestamptz not null,
    primary key (job_id, idempotency_key)
);

-- Written with every event; the relay publishes rows to Valkey and deletes them.
create table job_events.outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null,
    workspace_id uuid not null,
    job_id uuid not null,
    seq bigint not null,
    created_at timestamptz not null,
    attempts integer not null default 0
);

alter table job_events.job_streams enable row level security;
alter table job_events.job_streams force row level security;
create policy tenant_isolation on job_events.job_streams
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

alter table job_events.events enable row level security;
alter table job_events.events force row level security;
create policy tenant_isolation on job_events.events
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

alter table job_events.idempotency_keys enable row level security;
alter table job_events.idempotency_keys force row level security;
create policy tenant_isolation on job_events.idempotency_keys
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

alter table job_events.outbox enable row level security;
alter table job_events.outbox force row level security;
create policy tenant_isolation on job_events.outbox
    using (workspace_id = jobtrail.current_workspace_id())
    with check (workspace_id = jobtrail.current_workspace_id());

-- Events are never changed or removed, not even by their owner.
create trigger events_append_only
    before update or delete on job_events.events
    for each row execute function jobtrail.reject_mutation();
create trigger events_no_truncate
    before truncate on job_events.events
    for each statement execute function jobtrail.reject_mutation();

grant select, insert on job_events.job_streams to ${app_role};
grant update (last_seq, sealed_at) on job_events.job_streams to ${app_role};
grant select, insert on job_events.events to ${app_role};
grant select, insert on job_events.idempotency_keys to ${app_role};
grant select, insert, delete on job_events.outbox to ${app_role};
