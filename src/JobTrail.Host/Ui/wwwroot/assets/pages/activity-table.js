import { el, badge, formatTime } from '../dom.js';

// One table of activity rows, shared by the activity viewer and an entity's audit trail.
export function activityTable(label) {
  const body = el('tbody', { id: 'activity-body' });
  const table = el('table', { 'aria-label': label },
    el('thead', {}, el('tr', {}, ['When', 'Actor', 'Action', 'Entity', 'Outcome', 'Details'].map((h) => el('th', { scope: 'col' }, h)))), body);
  const seen = new Set();
  const row = (a) => el('tr', { dataset: { activityId: a.id, position: a.position ?? '' } },
    el('td', {}, formatTime(a.occurredAt)),
    el('td', {}, a.actorId),
    el('td', {}, a.action),
    el('td', {}, a.entityId
      ? el('a', { href: `/ui/audit/${encodeURIComponent(a.entityType)}/${encodeURIComponent(a.entityId)}` }, `${a.entityType} ${a.entityId}`)
      : a.entityType),
    el('td', {}, badge(a.outcome)),
    el('td', { class: 'payload' }, a.metadata ? JSON.stringify(a.metadata) : ''));
  return {
    table,
    body,
    clear() { seen.clear(); body.replaceChildren(); },
    append(items) { for (const a of items) if (!seen.has(a.id)) { seen.add(a.id); body.append(row(a)); } },
    prepend(a) { if (!seen.has(a.id)) { seen.add(a.id); body.prepend(row(a)); } },
    get size() { return seen.size; },
  };
}
