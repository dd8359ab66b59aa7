import { api, query } from '../api.js';
import { el, field, option } from '../dom.js';
import { follow } from '../live.js';
import { activityTable } from './activity-table.js';

const OUTCOMES = ['SUCCEEDED', 'FAILED', 'DENIED'];
const PAGE = 50;

// /ui/activity: who did what, filtered, newest first, with keyset paging and a live toggle.
export async function activityPage(main, _params, search) {
  const values = Object.fromEntries(['actorId', 'action', 'entityType', 'entityId', 'outcome', 'from', 'to'].map((n) => [n, search.get(n) ?? '']));
  const input = (name, label, attrs = {}) => {
    const control = el('input', { id: `filter-${name}`, name, value: values[name], ...attrs });
    return [control, field(label, control)];
  };
  const [actor, actorField] = input('actorId', 'Actor', { maxlength: 200 });
  const [action, actionField] = input('action', 'Action or prefix', { placeholder: 'runner_job.*' });
  const [entityType, entityTypeField] = input('entityType', 'Entity type', { placeholder: 'runner_job' });
  const [entityId, entityIdField] = input('entityId', 'Entity id');
  const outcome = el('select', { id: 'filter-outcome', name: 'outcome' }, option('', 'Any outcome', !values.outcome), OUTCOMES.map((o) => option(o, o, o === values.outcome)));
  const [from, fromField] = input('from', 'From', { type: 'datetime-local', value: local(values.from) });
  const [to, toField] = input('to', 'To', { type: 'datetime-local', value: local(values.to) });
  const live = el('input', { id: 'live-toggle', type: 'checkbox' });
  const liveState = el('span', { class: 'status-line', id: 'live-state', role: 'status' });
  const error = el('p', { class: 'error-text', role: 'alert', id: 'activity-error' });

  const filters = () => ({
    actorId: actor.value.trim(), action: action.value.trim(), entityType: entityType.value.trim(), entityId: entityId.value.trim(),
    outcome: outcome.value, from: iso(from.value), to: iso(to.value),
  });

  const form = el('form', {
    class: 'filters', role: 'search', 'aria-label': 'Filter activity',
    on: {
      submit: (event) => {
        event.preventDefault();
        window.history.pushState(null, '', `/ui/activity${query(filters())}`);
        window.dispatchEvent(new PopStateEvent('popstate'));
      },
    },
  }, actorField, actionField, entityTypeField, entityIdField, field('Outcome', outcome), fromField, toField,
  el('button', { type: 'submit' }, 'Apply'),
  el('label', { class: 'check', for: 'live-toggle' }, live, 'Live'), liveState);

  const rows = activityTable('Activity');
  const more = el('button', { type: 'button', id: 'activity-more', hidden: true }, 'Older');
  main.append(el('h1', {}, 'Activity'), form, error, rows.table, el('div', { class: 'pager' }, more));

  const active = filters();
  let cursor = null;
  const load = async () => {
    try {
      const page = await api(`/api/activity${query({ ...active, limit: PAGE, cursor })}`);
      rows.append(page.items);
      cursor = page.nextCursor;
      more.hidden = !cursor;
    } catch (e) {
      error.textContent = e.message;
    }
  };
  more.addEventListener('click', load);
  await load();

  // The feed takes the filters it supports; entity id and time range are checked here.
  let feed = null;
  live.addEventListener('change', () => {
    feed?.stop();
    feed = null;
    liveState.textContent = '';
    if (!live.checked) return;
    const { action: a, entityType: t, actorId: who, outcome: o } = active;
    feed = follow(`/api/activity/stream${query({ action: a, entityType: t, actorId: who, outcome: o })}`, {
      onState: (s) => { liveState.textContent = `Live: ${s}`; },
      onItem: (item) => {
        if (active.entityId && item.entityId !== active.entityId) return;
        if (active.to && new Date(item.occurredAt) >= new Date(active.to)) return;
        if (active.from && new Date(item.occurredAt) < new Date(active.from)) return;
        rows.prepend(item);
      },
    });
  });

  return () => feed?.stop();
}

function iso(localValue) {
  return localValue ? new Date(localValue).toISOString() : '';
}

function local(isoValue) {
  if (!isoValue) return '';
  const d = new Date(isoValue);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
