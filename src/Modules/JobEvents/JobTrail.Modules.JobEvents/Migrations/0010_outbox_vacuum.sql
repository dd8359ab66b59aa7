-- The outbox is a queue: every row is deleted seconds after it is inserted. With the default
-- autovacuum thresholds (20 % of the table) a busy outbox collects dead rows faster than they are
-- cleaned, and the relay's claim and its backlog count scan them all (measured: the backlog count at
-- 76 ms a call during a 20 s emit run). Vacuum it after a fixed number of dead rows, without the
-- cost-based pauses, as queue tables are usually tuned.
alter table job_events.outbox set (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 2000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0
);
