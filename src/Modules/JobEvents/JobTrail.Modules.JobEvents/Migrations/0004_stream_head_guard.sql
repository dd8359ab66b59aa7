-- A job's head only moves forward. The service role must be able to advance last_seq and seal a
-- stream (the append does both), so its UPDATE grant cannot tell an append from a rewind; these
-- triggers can. Refused: last_seq going down; a sealed stream changing at all (sealed_at cleared or
-- moved, last_seq moved); sealed_at set other than by the append of the job's terminal event.

create function job_events.refuse_head_rewind() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    if old.sealed_at is not null then
        raise exception 'job_events.job_streams: the stream of job % is sealed; its head cannot change', old.job_id
            using errcode = 'insufficient_privilege';
    end if;
    raise exception 'job_events.job_streams: the head of job % may only advance (from % to % refused)', old.job_id, old.last_seq, new.last_seq
        using errcode = 'insufficient_privilege';
end
$$;

-- The WHEN clause keeps the ordinary append free of any function call.
create trigger job_streams_head_only_advances
    before update on job_events.job_streams
    for each row
    when (new.last_seq < old.last_seq
          or (old.sealed_at is not null
              and (new.sealed_at is distinct from old.sealed_at or new.last_seq <> old.last_seq)))
    execute function job_events.refuse_head_rewind();

-- The append seals a stream in the same statement that inserts the terminal event: the stream row
-- is updated (or inserted) by one CTE and the events by the next, and AFTER row triggers run at the
-- end of that statement, when the events are visible. So a seal is genuine only if the event at the
-- new head is a terminal job event recorded at the very time the stream was sealed.
create function job_events.require_terminal_seal() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not exists (
        select from job_events.events e
        where e.workspace_id = new.workspace_id
          and e.job_id = new.job_id
          and e.seq = new.last_seq
          and e.type in ('job.completed', 'job.failed', 'job.cancelled')
          and e.recorded_at = new.sealed_at) then
        raise exception 'job_events.job_streams: the stream of job % may only be sealed by appending its terminal event', new.job_id
            using errcode = 'insufficient_privilege';
    end if;
    return null;
end
$$;

create trigger job_streams_sealed_by_terminal_event
    after update on job_events.job_streams
    for each row
    when (old.sealed_at is null and new.sealed_at is not null)
    execute function job_events.require_terminal_seal();

create trigger job_streams_created_sealed_by_terminal_event
    after insert on job_events.job_streams
    for each row
    when (new.sealed_at is not null)
    execute function job_events.require_terminal_seal();
