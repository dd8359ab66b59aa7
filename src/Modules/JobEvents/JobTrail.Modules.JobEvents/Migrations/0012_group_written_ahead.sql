-- A group of client appends can be written in one round trip when the group writer already knows each
-- job's head (its last seq and last link) and what jsonb will print for each payload: it makes the chain
-- links first and sends them with the events and the COMMIT (ADR 0046). This check is what makes that
-- safe. The statement calls it with what it found: how many streams it advanced (a stream that moved on,
-- was sealed or is not there is not advanced) and how many payloads jsonb printed otherwise than the
-- writer predicted. Either refuses the statement (JT001 for a head, JT002 for a payload), so nothing of the
-- group commits and the writer writes it again the way that reads the heads and the stored payloads first.
create function job_events.check_written_ahead(streams_advanced integer, streams_expected integer, payloads_unlike integer)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    if streams_advanced <> streams_expected then
        raise exception 'job_events: a group written ahead found % of its % streams where it expected them',
            streams_advanced, streams_expected
            using errcode = 'JT001', hint = 'The group writer writes the group again, reading each stream''s head first.';
    end if;
    if payloads_unlike <> 0 then
        raise exception 'job_events: jsonb printed % payloads of a group written ahead otherwise than predicted', payloads_unlike
            using errcode = 'JT002', hint = 'The group writer writes the group again, reading each payload back first.';
    end if;
    return streams_advanced;
end
$$;

revoke all on function job_events.check_written_ahead(integer, integer, integer) from public;
grant execute on function job_events.check_written_ahead(integer, integer, integer) to ${app_role};
