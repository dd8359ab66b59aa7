-- The W3C traceparent of the request that appended the event (null outside a trace), so that the
-- relay's span and the SSE delivery continue the emit's trace. Telemetry only: never read for access.
alter table job_events.outbox add column trace_parent text;
