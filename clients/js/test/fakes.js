// Test doubles: a scripted fetch that records every call, a session server with a shared
// cookie jar and refresh-token rotation, Web Locks as a real async mutex, and storage.

export const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

/** A JSON Response (the real global), or an empty one for 204. */
export function reply(status, body, headers = {}) {
  if (body === undefined || status === 204) return new Response(null, { status, headers });
  return new Response(JSON.stringify(body), {
    status, headers: { "Content-Type": "application/json", ...headers },
  });
}

/**
 * fetch(url, init) that records each call as {url, path, method, headers, body, credentials}
 * and answers from `routes["METHOD /path"]`: a function (call) => Response | Promise, or an
 * array of them used in turn (the last one repeats). GET /auth/csrf/ answers by default.
 */
export function fakeFetch(routes = {}, { onCall } = {}) {
  const calls = [];
  let csrfCount = 0;
  const used = new Map();
  const fetch = async (url, init = {}) => {
    const parsed = new URL(url, "http://page.test");
    const call = {
      url,
      path: parsed.pathname,
      method: init.method || "GET",
      headers: new Headers(init.headers),
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      credentials: init.credentials,
    };
    if (onCall) onCall(call);
    calls.push(call);
    const key = `${call.method} ${call.path}`;
    let handler = routes[key];
    if (Array.isArray(handler)) {
      const n = used.get(key) || 0;
      used.set(key, n + 1);
      handler = handler[Math.min(n, handler.length - 1)];
    }
    if (!handler && key === "GET /auth/csrf/") {
      csrfCount += 1;
      return reply(200, { csrfToken: `csrf-${csrfCount}` });
    }
    if (!handler) return reply(404, { error: "not_found", detail: `no route ${key}` });
    return handler(call);
  };
  fetch.calls = calls;
  fetch.count = (key) => calls.filter((c) => `${c.method} ${c.path}` === key).length;
  return fetch;
}

/**
 * authsvc in miniature, for the refresh tests. One cookie jar shared by every "tab" (as a
 * browser profile shares it); each request carries the jar's cookies as they are when it is
 * sent. A refresh rotates both tokens after a short delay, and a refresh token presented
 * again after its rotation counts as theft and ends the session (no grace window: any two
 * refreshes of one token that overlap would be caught).
 */
export function sessionServer({ delay = 5 } = {}) {
  const state = {
    jar: { access: "access-1", refresh: "refresh-1" },
    access: "access-1",
    refresh: "refresh-1",
    alive: true,
    generation: 1,
    reuseDetected: false,
  };
  const authed = (handler) => async (call) => {
    const access = call.cookies.access;
    await tick(delay);
    if (!state.alive) return reply(401, { error: "invalid_token", detail: "Session ended." });
    if (access !== state.access) return reply(401, { error: "invalid_token", detail: "Token expired." });
    return handler(call);
  };
  // Like Django's: one CSRF secret per browser, so every tab's token is good.
  const checkCsrf = (call) => call.headers.get("X-CSRFToken") === "csrf-shared";
  const routes = {
    "GET /auth/csrf/": () => reply(200, { csrfToken: "csrf-shared" }),
    "GET /auth/self/": authed(() => reply(200, { id: "u1", email: "ada@example.com" })),
    "PATCH /auth/self/": authed((call) => reply(200, { id: "u1", name: call.body.name })),
    "POST /auth/refresh/": async (call) => {
      if (!checkCsrf(call)) return reply(403, { error: "csrf_failed", detail: "CSRF" });
      const presented = call.cookies.refresh;
      await tick(delay);
      if (!state.alive || presented !== state.refresh) {
        if (state.alive) state.reuseDetected = true;
        state.alive = false;
        state.jar = {};
        return reply(401, { error: "invalid_token", detail: "Refresh token invalid." });
      }
      state.generation += 1;
      state.access = `access-${state.generation}`;
      state.refresh = `refresh-${state.generation}`;
      state.jar = { access: state.access, refresh: state.refresh };
      return reply(200, { id: "u1" });
    },
  };
  // The browser attaches the jar's cookies when the request is sent.
  const fetch = fakeFetch(routes, { onCall: (call) => { call.cookies = { ...state.jar }; } });
  /** The access token expires: requests with it answer 401 until a refresh. */
  const expireAccess = () => { state.access = `expired-${state.generation}`; };
  return { fetch, state, expireAccess };
}

/** navigator.locks: an exclusive async mutex per name, shared by the "tabs" given it. */
export class FakeLocks {
  constructor() {
    this.tails = new Map();
    this.held = 0;
    this.maxHeld = 0;
    this.requests = 0;
  }

  request(name, callback) {
    this.requests += 1;
    const previous = this.tails.get(name) || Promise.resolve();
    const run = previous.then(async () => {
      this.held += 1;
      this.maxHeld = Math.max(this.maxHeld, this.held);
      try {
        return await callback({ name, mode: "exclusive" });
      } finally {
        this.held -= 1;
      }
    });
    this.tails.set(name, run.catch(() => {}));
    return run;
  }
}

/** localStorage, Map-backed. */
export class FakeStorage {
  constructor() { this.map = new Map(); }
  getItem(key) { return this.map.has(key) ? this.map.get(key) : null; }
  setItem(key, value) { this.map.set(key, String(value)); }
  removeItem(key) { this.map.delete(key); }
}
