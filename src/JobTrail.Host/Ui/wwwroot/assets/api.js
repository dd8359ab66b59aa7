// The API as the dashboard uses it: same-origin requests carrying the session cookie, and on any
// request that changes state the session's CSRF token. The API key is sent once, to sign in.
let session = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function current() {
  return session;
}

export function can(scope) {
  return !!session && (session.scopes.includes(scope) || (scope !== 'system' && session.scopes.includes('admin')));
}

export async function loadSession() {
  const response = await fetch('/api/ui/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  session = response.ok ? await response.json() : null;
  return session;
}

export async function signIn(key) {
  const response = await fetch('/api/ui/session', {
    method: 'POST',
    headers: { Accept: 'application/json', Authorization: `Bearer ${key}` },
    credentials: 'same-origin',
  });
  if (!response.ok) throw new ApiError(response.status, await problem(response));
  session = await response.json();
  return session;
}

export async function signOut() {
  if (session) {
    await fetch('/api/ui/session', { method: 'DELETE', headers: { 'X-CSRF-Token': session.csrfToken }, credentials: 'same-origin' });
  }
  session = null;
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = session?.csrfToken ?? '';
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    session = null;
    window.dispatchEvent(new CustomEvent('jobtrail:signed-out'));
  }
  if (!response.ok) throw new ApiError(response.status, await problem(response));
  return response.status === 204 ? null : response.json();
}

async function problem(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
