// A live feed over Server-Sent Events, read with fetch so that every event type arrives through
// one handler (EventSource only reports the types it was told to listen to). When the connection
// drops or the server ends it, the feed reconnects with Last-Event-ID = the last id it delivered,
// so the server resumes right after it; ids at or below that are dropped, so nothing shows twice.
export function follow(url, { onItem, onState, endTypes = [], startAfter = null }) {
  let lastId = startAfter;
  let stopped = false;
  let controller = null;
  let retryMs = 3000;
  let timer = null;

  const state = (name) => onState?.(name);

  const deliver = (frame) => {
    if (frame.data === null) return false;
    const id = frame.id !== null ? Number(frame.id) : null;
    if (id !== null && lastId !== null && id <= lastId) return false;
    if (id !== null) lastId = id;
    onItem(JSON.parse(frame.data), frame.event ?? 'message', id);
    return endTypes.includes(frame.event);
  };

  const run = async () => {
    if (stopped) return;
    controller = new AbortController();
    state('connecting');
    let ended = false;
    try {
      const headers = { Accept: 'text/event-stream' };
      if (lastId !== null) headers['Last-Event-ID'] = String(lastId);
      const response = await fetch(url, { headers, credentials: 'same-origin', signal: controller.signal, cache: 'no-store' });
      if (response.status === 401) {
        window.dispatchEvent(new CustomEvent('jobtrail:signed-out'));
        stopped = true;
        state('signed out');
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      state('live');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let frame = { id: null, event: null, data: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (deliver(frame)) { ended = true; break; }
            frame = { id: null, event: null, data: null };
          } else if (line.startsWith(':')) {
            // heartbeat
          } else {
            const colon = line.indexOf(':');
            const name = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (name === 'id') frame.id = text;
            else if (name === 'event') frame.event = text;
            else if (name === 'data') frame.data = frame.data === null ? text : `${frame.data}\n${text}`;
            else if (name === 'retry' && /^\d+$/.test(text)) retryMs = Number(text);
          }
        }
        if (ended) break;
      }
      if (ended) {
        controller.abort();
      }
    } catch (error) {
      if (stopped) return;
    }
    if (ended || stopped) {
      stopped = true;
      state('ended');
      return;
    }
    state('reconnecting');
    timer = setTimeout(run, Math.min(retryMs, 3000));
  };

  run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
    get lastId() { return lastId; },
  };
}
