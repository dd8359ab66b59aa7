-- A row that fails for a reason of its own (an error reply about its job's key, not Valkey being
-- unreachable) is retried after a growing delay (retry_at), then parked (parked_at) with its last
-- error. While a job has a parked row, its later rows are held: never claimed, so they cannot
-- overtake it into the job's stream. Other jobs' rows flow on. docs/delivery.md says how to re-drive.
alter table job_events.outbox add column retry_at timestamptz;
alter table job_events.outbox add column parked_at timestamptz;
alter table job_events.outbox add column last_error text;
grant update (retry_at, parked_at, last_error) on job_events.outbox to ${app_role};
-- The relay's claim looks up, per candidate row, whether its job has a row waiting or parked.
create index outbox_blocked_jobs on job_events.outbox (job_id)
    where parked_at is not null or retry_at is not null;
