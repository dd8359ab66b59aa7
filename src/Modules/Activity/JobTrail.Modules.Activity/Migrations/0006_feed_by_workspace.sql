-- The activity feed reads one workspace's rows in (xact_id, position) order after a cursor. The global
-- (xact_id, position) index is the sealer's (it links every workspace's rows in that order); read for one
-- workspace, a small workspace resuming far back walked every other workspace's entries in between to
-- find its own. This one starts at the workspace's cursor and reads only its rows.
create index activity_logs_workspace_xact_position on activity.activity_logs (workspace_id, xact_id, position);
