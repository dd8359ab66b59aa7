-- The W3C traceparent of the request that did it, beside its correlation id, so that an activity row
-- leads to the request's trace. Telemetry, not evidence: it is outside the row's chain digest.
alter table activity.activity_logs add column trace_parent text;
grant insert (trace_parent) on activity.activity_logs to ${app_role};
