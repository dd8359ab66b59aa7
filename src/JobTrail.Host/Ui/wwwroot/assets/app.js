import { current, loadSession, signIn, signOut } from './api.js';
import { el, clear } from './dom.js';
import { jobsPage } from './pages/jobs.js';
import { jobPage } from './pages/job.js';
import { activityPage } from './pages/activity.js';
import { auditPage } from './pages/audit.js';

const main = document.getElementById('main');
let cleanup = null;

// Deep links: /ui, /ui/jobs/{jobId}, /ui/activity, /ui/audit/{entityType}/{entityId}.
const routes = [
  [/^\/ui\/?$/, () => jobsPage, 'jobs'],
  [/^\/ui\/jobs\/([0-9a-fA-F-]{36})\/?$/, () => jobPage, 'jobs'],
  [/^\/ui\/activity\/?$/, () => activityPage, 'activity'],
  [/^\/ui\/audit\/([^/]+)\/([^/]+)\/?$/, () => auditPage, 'activity'],
];

async function render() {
  cleanup?.();
  cleanup = null;
  clear(main);
  if (!current() && !(await loadSession())) {
    showSignedOut();
    return;
  }
  showSignedIn();
  const path = window.location.pathname;
  for (const [pattern, page, nav] of routes) {
    const match = pattern.exec(path);
    if (match) {
      markNav(nav);
      const params = match.slice(1).map((p) => decodeURIComponent(p));
      cleanup = await page()(main, params, new URLSearchParams(window.location.search)) ?? null;
      return;
    }
  }
  main.append(el('h1', {}, 'Not found'), el('p', {}, el('a', { href: '/ui' }, 'Back to the jobs')));
}

function markNav(name) {
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function showSignedIn() {
  const session = current();
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = `${session.actorId} · ${session.scopes.join(', ')}`;
}

function showSignedOut() {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  const input = el('input', { id: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'key-help' });
  const error = el('p', { class: 'error-text', role: 'alert', id: 'sign-in-error' });
  const form = el('form', {
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        const key = input.value.trim();
        // The key leaves the page at once: it is sent once and never kept.
        input.value = '';
        try {
          await signIn(key);
          await render();
        } catch (e) {
          error.textContent = e.message;
          input.focus();
        }
      },
    },
  },
  el('label', { for: 'api-key' }, 'API key', input),
  el('p', { class: 'muted', id: 'key-help' }, 'Paste an API key once. The server keeps a session; the key is not stored in this browser.'),
  el('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  error);
  main.append(el('section', { class: 'signin', 'aria-labelledby': 'sign-in-title' }, el('h1', { id: 'sign-in-title' }, 'Sign in to JobTrail'), form));
  input.focus();
}

// Links inside the app change the page without a reload; modified clicks keep their meaning.
document.addEventListener('click', (event) => {
  const link = event.target.closest?.('a[href^="/ui"]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});

export function navigate(href, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, '', href);
  else window.history.pushState(null, '', href);
  render();
}

window.addEventListener('popstate', render);
window.addEventListener('jobtrail:signed-out', () => render());
document.getElementById('sign-out').addEventListener('click', async () => {
  await signOut();
  await render();
});

render();
