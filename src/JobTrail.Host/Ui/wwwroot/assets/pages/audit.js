import { api, query } from '../api.js';
import { el } from '../dom.js';
import { activityTable } from './activity-table.js';

// /ui/audit/{entityType}/{entityId}: everything recorded about one entity, oldest first.
export async function auditPage(main, [entityType, entityId]) {
  const rows = activityTable('Audit trail');
  const more = el('button', { type: 'button', id: 'audit-more', hidden: true }, 'Later entries');
  const back = entityType === 'runner_job' ? el('p', {}, el('a', { href: `/ui/jobs/${encodeURIComponent(entityId)}` }, '← The job')) : null;
  main.append(back, el('h1', {}, 'Audit trail: ', el('span', {}, `${entityType} ${entityId}`)), rows.table, el('div', { class: 'pager' }, more));
  let cursor = null;
  const load = async () => {
    const page = await api(`/api/activity/audit/${encodeURIComponent(entityType)}/${encodeURIComponent(entityId)}${query({ limit: 100, cursor })}`);
    rows.append(page.items);
    cursor = page.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', load);
  await load();
  if (rows.size === 0) main.append(el('p', { class: 'muted' }, 'Nothing recorded.'));
}
