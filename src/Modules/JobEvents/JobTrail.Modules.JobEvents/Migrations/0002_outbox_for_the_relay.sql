-- The relay drains the outbox for every workspace at once, so the outbox is a queue of pointers
-- (event id, job, seq, workspace) without row-level security. It holds no event content: the relay
-- reads each event under that event's own workspace setting, so events keep their policy.
drop policy tenant_isolation on job_events.outbox;
alter table job_events.outbox no force row level security;
alter table job_events.outbox disable row level security;
create index outbox_created_at on job_events.outbox (created_at);
-- Claiming rows FOR UPDATE needs UPDATE on some column.
grant update (attempts) on job_events.outbox to ${app_role};
