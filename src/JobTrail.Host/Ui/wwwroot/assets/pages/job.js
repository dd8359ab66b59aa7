import { api, can, query } from '../api.js';
import { el, badge, clear, formatDuration, formatTime, field, option } from '../dom.js';
import { follow } from '../live.js';

const PHASES = ['SETUP', 'EXECUTION', 'VALIDATION', 'CLEANUP'];
const TERMINAL_JOB = ['COMPLETED', 'FAILED', 'CANCELLED'];
const TERMINAL_EVENTS = ['job.completed', 'job.failed', 'job.cancelled'];
const LOG_PAGE = 200;

// /ui/jobs/{jobId}: header, steps timeline, live event log, chain verification.
export async function jobPage(main, [jobId]) {
  let job = await api(`/api/runner-jobs/${jobId}`);
  let steps = await allSteps(jobId);

  const title = el('h1', { id: 'job-title' });
  const facts = el('dl', { class: 'facts', id: 'job-facts' });
  const errorText = el('p', { class: 'error-text', id: 'job-error' });
  const actions = el('div', { class: 'filters', id: 'job-actions' });
  const verifyResult = el('p', { class: 'status-line', id: 'verify-result', role: 'status' });
  const timeline = el('div', { class: 'timeline', id: 'steps', role: 'list', 'aria-label': 'Steps by phase' });

  if (can('events:read')) {
    actions.append(el('button', {
      type: 'button', id: 'verify-chain',
      on: {
        click: async () => {
          verifyResult.textContent = 'Verifying…';
          try {
            const result = await api(`/api/runner-jobs/${jobId}/events/verify`);
            clear(verifyResult).append(result.valid
              ? el('span', { class: 'badge s-valid', id: 'verify-state' }, 'valid')
              : el('span', { class: 'badge s-invalid', id: 'verify-state' }, 'invalid'),
            ` ${result.checked} links checked`,
            result.valid ? '' : ` · first bad seq ${result.firstBadSeq}: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`);
          } catch (e) {
            verifyResult.textContent = `Verification failed: ${e.message}`;
          }
        },
      },
    }, 'Verify chain'));
  }
  if (can('activity:read')) {
    actions.append(el('a', { href: `/ui/audit/runner_job/${jobId}`, id: 'audit-link' }, 'Audit trail'));
  }
  const cancel = can('jobs:write')
    ? el('button', {
      type: 'button', class: 'danger', id: 'cancel-job',
      on: {
        click: async () => {
          cancel.disabled = true;
          try {
            job = await api(`/api/runner-jobs/${jobId}/status`, { method: 'POST', body: { status: 'CANCELLED' } });
            renderHeader();
          } catch (e) {
            verifyResult.textContent = `Could not cancel: ${e.message}`;
            cancel.disabled = false;
          }
        },
      },
    }, 'Cancel job')
    : null;
  if (cancel) actions.prepend(cancel);

  const renderHeader = () => {
    title.textContent = job.name ?? job.id;
    const queued = job.queuedAt && job.startedAt ? new Date(job.startedAt) - new Date(job.queuedAt) : null;
    const running = job.durationMs ?? (job.startedAt && !job.completedAt ? Date.now() - new Date(job.startedAt).getTime() : null);
    clear(facts).append(
      fact('Status', badge(job.status), 'fact-status'),
      fact('Type', job.type),
      fact('Created', formatTime(job.createdAt)),
      fact('Started', formatTime(job.startedAt)),
      fact('Completed', formatTime(job.completedAt)),
      fact('Queued for', formatDuration(queued)),
      fact('Duration', formatDuration(running), 'fact-duration'),
      fact('Tokens', tokens(steps)),
      fact('Created by', job.createdBy));
    errorText.textContent = job.error ?? '';
    if (cancel) cancel.hidden = TERMINAL_JOB.includes(job.status);
  };

  const renderSteps = () => {
    clear(timeline);
    const starts = steps.map((s) => s.startedAt).filter(Boolean).map((t) => new Date(t).getTime());
    const now = Date.now();
    const t0 = Math.min(...starts, job.startedAt ? new Date(job.startedAt).getTime() : Infinity);
    const ends = steps.map((s) => (s.completedAt ? new Date(s.completedAt).getTime() : (s.startedAt ? now : 0)));
    const t1 = Math.max(...ends, job.completedAt ? new Date(job.completedAt).getTime() : 0, t0 + 1);
    const span = t1 - t0;
    if (steps.length === 0) {
      timeline.append(el('p', { class: 'muted' }, 'No steps yet.'));
      return;
    }
    for (const phase of PHASES) {
      const inPhase = steps.filter((s) => s.phase === phase);
      if (inPhase.length === 0) continue;
      timeline.append(el('div', { class: 'phase', role: 'presentation' }, phase));
      for (const step of inPhase) {
        const start = step.startedAt ? new Date(step.startedAt).getTime() : null;
        const end = step.completedAt ? new Date(step.completedAt).getTime() : (start ? now : null);
        const ms = step.durationMs ?? (start ? end - start : null);
        const label = el('div', { class: 'step-label' },
          el('span', {}, badge(step.status), ' ', step.name),
          el('span', { class: 'step-duration', dataset: { stepId: step.id } }, formatDuration(ms)));
        const track = el('div', { class: 'track', 'aria-hidden': 'true' });
        if (start !== null && Number.isFinite(span)) {
          const bar = el('div', { class: `bar s-${step.status}` });
          bar.style.left = `${((start - t0) / span) * 100}%`;
          bar.style.width = `${Math.max(((end - start) / span) * 100, 0.3)}%`;
          track.append(bar);
        }
        const tokenText = step.tokensInput || step.tokensOutput ? el('div', { class: 'tokens' }, `tokens in ${step.tokensInput} · out ${step.tokensOutput}`) : null;
        timeline.append(el('div', { role: 'listitem' }, label, tokenText, step.error ? el('div', { class: 'error-text' }, step.error) : null), track);
      }
    }
  };

  // The event log: every event, kept in seq order; shown a page at a time, filtered by type and text.
  const events = [];
  let following = true;
  let paused = false;
  let pageIndex = 0;
  const typeSelect = el('select', { id: 'log-type' }, option('', 'All types', true));
  const textInput = el('input', { id: 'log-text', type: 'search', placeholder: 'text in type or payload' });
  const pauseButton = el('button', { type: 'button', id: 'log-pause', 'aria-pressed': 'false' }, 'Pause');
  const newestButton = el('button', { type: 'button', id: 'log-newest' }, 'Jump to newest');
  const liveState = el('span', { class: 'status-line', id: 'log-state', role: 'status' });
  const log = el('div', { class: 'log', id: 'event-log', role: 'log', 'aria-label': 'Event log', tabindex: '0' });
  const older = el('button', { type: 'button', id: 'log-older' }, 'Older');
  const newer = el('button', { type: 'button', id: 'log-newer' }, 'Newer');
  const pageInfo = el('span', { class: 'muted', id: 'log-page' });
  const types = new Set();

  const visible = () => {
    const type = typeSelect.value;
    const text = textInput.value.trim().toLowerCase();
    if (!type && !text) return events;
    return events.filter((e) => (!type || e.type === type)
      && (!text || e.type.toLowerCase().includes(text) || (e.payloadText ?? '').toLowerCase().includes(text)));
  };

  const renderLog = () => {
    const shown = visible();
    const pages = Math.max(1, Math.ceil(shown.length / LOG_PAGE));
    if (following) pageIndex = pages - 1;
    pageIndex = Math.min(pageIndex, pages - 1);
    const slice = shown.slice(pageIndex * LOG_PAGE, (pageIndex + 1) * LOG_PAGE);
    clear(log).append(...slice.map((e) => el('div', { class: 'row', dataset: { seq: e.seq } },
      el('span', { class: 'seq' }, e.seq),
      el('span', { class: 'type' }, e.type),
      el('span', { class: 'payload' }, e.payloadText ?? ''))));
    pageInfo.textContent = `page ${pageIndex + 1} of ${pages} · ${shown.length} of ${events.length} events`;
    older.disabled = pageIndex === 0;
    newer.disabled = pageIndex >= pages - 1;
    if (following) log.scrollTop = log.scrollHeight;
  };

  let pending = false;
  const scheduleLog = () => {
    if (paused || pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderLog();
    });
  };

  older.addEventListener('click', () => { following = false; pageIndex -= 1; renderLog(); });
  newer.addEventListener('click', () => { pageIndex += 1; following = pageIndex >= Math.ceil(visible().length / LOG_PAGE) - 1; renderLog(); });
  newestButton.addEventListener('click', () => { following = true; paused = false; pauseButton.textContent = 'Pause'; pauseButton.setAttribute('aria-pressed', 'false'); renderLog(); });
  pauseButton.addEventListener('click', () => {
    paused = !paused;
    pauseButton.textContent = paused ? 'Resume' : 'Pause';
    pauseButton.setAttribute('aria-pressed', String(paused));
    if (!paused) renderLog();
  });
  typeSelect.addEventListener('change', () => { following = true; renderLog(); });
  textInput.addEventListener('input', () => { following = true; renderLog(); });

  main.append(
    el('p', {}, el('a', { href: '/ui' }, '← Jobs')),
    title, el('section', { class: 'panel', 'aria-label': 'Job' }, facts, errorText, actions, verifyResult),
    el('h2', {}, 'Steps'), el('section', { class: 'panel', 'aria-label': 'Steps' }, timeline),
    el('h2', {}, 'Events'),
    el('section', { 'aria-label': 'Events' },
      el('div', { class: 'log-tools' }, field('Event type', typeSelect), field('Search', textInput), pauseButton, newestButton, liveState),
      log,
      el('div', { class: 'pager' }, older, newer, pageInfo)));
  renderHeader();
  renderSteps();
  renderLog();

  let refreshing = null;
  const refresh = () => {
    refreshing ??= setTimeout(async () => {
      refreshing = null;
      [job, steps] = await Promise.all([api(`/api/runner-jobs/${jobId}`), allSteps(jobId)]);
      renderHeader();
      renderSteps();
    }, 150);
  };

  const feed = can('events:read')
    ? follow(`/api/runner-jobs/${jobId}/events/stream`, {
      endTypes: TERMINAL_EVENTS,
      onState: (s) => { liveState.textContent = `Live: ${s}`; },
      onItem: (event) => {
        event.payloadText = event.payload === null || event.payload === undefined ? '' : JSON.stringify(event.payload);
        events.push(event);
        if (!types.has(event.type)) {
          types.add(event.type);
          typeSelect.append(option(event.type, event.type, false));
        }
        if (event.type.startsWith('job.') || event.type.startsWith('step.') && !event.type.endsWith('.output')) refresh();
        scheduleLog();
      },
    })
    : null;
  if (!feed) liveState.textContent = 'This key cannot read events.';

  // Running steps and jobs grow while the page is open.
  const tick = setInterval(() => {
    if (job.status === 'RUNNING' || steps.some((s) => s.status === 'RUNNING')) {
      renderHeader();
      renderSteps();
    }
  }, 1000);

  return () => {
    feed?.stop();
    clearInterval(tick);
    clearTimeout(refreshing);
  };
}

function fact(name, value, id) {
  return el('div', { id }, el('dt', {}, name), el('dd', {}, value));
}

function tokens(steps) {
  const input = steps.reduce((n, s) => n + (s.tokensInput ?? 0), 0);
  const output = steps.reduce((n, s) => n + (s.tokensOutput ?? 0), 0);
  return input || output ? `in ${input} · out ${output}` : '—';
}

async function allSteps(jobId) {
  const steps = [];
  let cursor = null;
  do {
    const page = await api(`/api/runner-jobs/${jobId}/steps${query({ limit: 200, cursor })}`);
    steps.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return steps;
}
