import { api, can, query } from '../api.js';
import { el, badge, clear, formatDuration, formatTime, field, option } from '../dom.js';
import { follow } from '../live.js';

const STATUSES = ['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const PAGE = 50;

// /ui: the workspace's jobs, filtered by status and type, kept current by the activity feed.
export async function jobsPage(main, _params, search) {
  const status = search.get('status') ?? '';
  const type = search.get('type') ?? '';
  const statusSelect = el('select', { id: 'filter-status', name: 'status' }, option('', 'Any status', status === ''),
    STATUSES.map((s) => option(s, s, s === status)));
  const typeInput = el('input', { id: 'filter-type', name: 'type', value: type, placeholder: 'e.g. ci', maxlength: 64 });
  const liveState = el('span', { class: 'status-line', role: 'status', id: 'live-state' });
  const form = el('form', {
    class: 'filters', role: 'search', 'aria-label': 'Filter jobs',
    on: {
      submit: (event) => {
        event.preventDefault();
        const href = `/ui${query({ status: statusSelect.value, type: typeInput.value.trim() })}`;
        window.history.pushState(null, '', href);
        window.dispatchEvent(new PopStateEvent('popstate'));
      },
    },
  }, field('Status', statusSelect), field('Type', typeInput), el('button', { type: 'submit' }, 'Apply'), liveState);

  const body = el('tbody', { id: 'jobs-body' });
  const table = el('table', { class: 'jobs', 'aria-label': 'Jobs' },
    el('thead', {}, el('tr', {}, ['Status', 'Type', 'Name', 'Started', 'Duration'].map((h) => el('th', { scope: 'col' }, h)))), body);
  const more = el('button', { type: 'button', id: 'jobs-more', hidden: true }, 'Load older jobs');
  const message = el('p', { class: 'muted', id: 'jobs-empty', hidden: true }, 'No jobs match.');
  main.append(el('h1', {}, 'Jobs'), form, table, message, el('div', { class: 'pager' }, more));

  const rows = new Map();
  let cursor = null;
  const matches = (job) => (!status || job.status === status) && (!type || job.type === type);

  const renderRow = (job) => {
    const tr = rows.get(job.id)?.tr ?? el('tr', { dataset: { jobId: job.id } });
    clear(tr).append(
      el('td', {}, badge(job.status)),
      el('td', {}, job.type),
      el('td', {}, el('a', { href: `/ui/jobs/${job.id}` }, job.name ?? job.id)),
      el('td', {}, formatTime(job.startedAt ?? job.createdAt)),
      el('td', { class: 'duration' }, duration(job)));
    rows.set(job.id, { tr, job });
    return tr;
  };

  const load = async () => {
    const page = await api(`/api/runner-jobs${query({ status, type, limit: PAGE, cursor })}`);
    for (const job of page.items) {
      if (!rows.has(job.id)) body.append(renderRow(job));
    }
    cursor = page.nextCursor;
    more.hidden = !cursor;
    message.hidden = rows.size > 0;
  };
  more.addEventListener('click', () => load());
  await load();

  // New jobs and status changes arrive over the activity feed; without activity:read the list is re-read now and then.
  const upsert = async (jobId) => {
    let job;
    try {
      job = await api(`/api/runner-jobs/${jobId}`);
    } catch {
      return;
    }
    if (!matches(job)) {
      rows.get(jobId)?.tr.remove();
      rows.delete(jobId);
    } else if (rows.has(jobId)) {
      renderRow(job);
    } else {
      body.prepend(renderRow(job));
    }
    message.hidden = rows.size > 0;
  };

  let feed = null;
  let poll = null;
  if (can('activity:read')) {
    feed = follow('/api/activity/stream?entityType=runner_job', {
      onItem: (activity) => activity.entityId && activity.outcome === 'SUCCEEDED' && upsert(activity.entityId),
      onState: (s) => { liveState.textContent = `Live: ${s}`; },
    });
  } else {
    liveState.textContent = 'Refreshing every 5 s';
    poll = setInterval(async () => {
      const page = await api(`/api/runner-jobs${query({ status, type, limit: PAGE })}`).catch(() => null);
      for (const job of page?.items.slice().reverse() ?? []) {
        if (rows.has(job.id)) renderRow(job);
        else body.prepend(renderRow(job));
      }
      message.hidden = rows.size > 0;
    }, 5000);
  }

  // Running jobs' durations grow while the page is open.
  const tick = setInterval(() => {
    for (const { tr, job } of rows.values()) {
      if (job.status === 'RUNNING') tr.querySelector('.duration').textContent = duration(job);
    }
  }, 1000);

  return () => {
    feed?.stop();
    clearInterval(poll);
    clearInterval(tick);
  };
}

function duration(job) {
  if (job.durationMs !== null && job.durationMs !== undefined) return formatDuration(job.durationMs);
  if (job.startedAt && !job.completedAt) return formatDuration(Date.now() - new Date(job.startedAt).getTime());
  return '—';
}
