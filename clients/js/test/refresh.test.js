import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthClient, AuthError } from "../src/index.js";
import { fakeFetch, reply, sessionServer, FakeLocks, FakeStorage, tick } from "./fakes.js";

const BASE = "https://auth.example.com";
const tab = (fetch, options = {}) =>
  new AuthClient({ baseUrl: BASE, fetch, locks: null, storage: null, channel: null, ...options });

test("a 401 refreshes exactly once and retries the request once", async () => {
  const server = sessionServer();
  const auth = tab(server.fetch);
  assert.deepEqual(await auth.self(), { id: "u1", email: "ada@example.com" });
  server.expireAccess();
  assert.deepEqual(await auth.self(), { id: "u1", email: "ada@example.com" });
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
  assert.equal(server.fetch.count("GET /auth/self/"), 3);
  const refresh = server.fetch.calls.find((c) => c.path === "/auth/refresh/");
  assert.equal(refresh.headers.get("X-CSRFToken"), "csrf-shared");
  assert.equal(refresh.credentials, "include");
  assert.equal(server.state.alive, true);
});

test("a write that answers 401 is retried with its body after the refresh", async () => {
  const server = sessionServer();
  const auth = tab(server.fetch);
  server.expireAccess();
  assert.deepEqual(await auth.updateSelf({ name: "Ada" }), { id: "u1", name: "Ada" });
  const patches = server.fetch.calls.filter((c) => c.method === "PATCH");
  assert.equal(patches.length, 2);
  assert.deepEqual(patches[1].body, { name: "Ada" });
  assert.equal(patches[1].headers.get("X-CSRFToken"), "csrf-shared");
});

test("five concurrent 401s in one page share one refresh", async () => {
  const server = sessionServer();
  const auth = tab(server.fetch);
  server.expireAccess();
  const results = await Promise.all(Array.from({ length: 5 }, () => auth.self()));
  for (const r of results) assert.equal(r.id, "u1");
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
  assert.equal(server.fetch.count("GET /auth/self/"), 10);
  assert.equal(server.state.reuseDetected, false);
});

test("a 401 for a request sent before an earlier refresh finished only retries", async () => {
  const server = sessionServer();
  const auth = tab(server.fetch);
  server.expireAccess();
  const first = auth.self();
  await tick(1);
  // Sent with the expired cookie while the first call's refresh is about to happen.
  const slow = auth.self();
  await Promise.all([first, slow]);
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
});

test("two tabs sharing Web Locks and storage: both 401 at once, one refresh, both retries succeed", async () => {
  const server = sessionServer();
  const locks = new FakeLocks();
  const storage = new FakeStorage();
  const tabA = tab(server.fetch, { locks, storage });
  const tabB = tab(server.fetch, { locks, storage });
  server.expireAccess();
  const [a, b] = await Promise.all([tabA.self(), tabB.self()]);
  assert.equal(a.id, "u1");
  assert.equal(b.id, "u1");
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
  assert.equal(server.state.reuseDetected, false);
  assert.equal(server.state.alive, true);
  assert.equal(locks.maxHeld, 1);
  assert.equal(locks.requests, 2, "each tab took the lock once");
  const marker = Number(storage.getItem(`authsvc:refreshed-at ${BASE}`));
  assert.ok(marker > 0 && marker <= Date.now());
});

test("many tabs, many calls each: still one refresh", async () => {
  const server = sessionServer();
  const locks = new FakeLocks();
  const storage = new FakeStorage();
  const tabs = Array.from({ length: 4 }, () => tab(server.fetch, { locks, storage }));
  server.expireAccess();
  await Promise.all(tabs.flatMap((t) => [t.self(), t.updateSelf({ name: "x" }), t.self()]));
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
  assert.equal(server.state.reuseDetected, false);
});

test("the fake server catches two tabs refreshing one token at once (what the lock prevents)", async () => {
  // The control for the test above: without Web Locks (the documented fallback), two tabs
  // both refresh; without the server's 5 s grace window that is taken as theft.
  const server = sessionServer();
  const tabA = tab(server.fetch);
  const tabB = tab(server.fetch);
  server.expireAccess();
  const results = await Promise.allSettled([tabA.self(), tabB.self()]);
  assert.equal(server.fetch.count("POST /auth/refresh/"), 2);
  assert.equal(server.state.reuseDetected, true);
  assert.ok(results.some((r) => r.status === "rejected"));
});

test("with Web Locks but no shared storage, refreshes are one after the other, never a reuse", async () => {
  const server = sessionServer();
  const locks = new FakeLocks();
  const tabA = tab(server.fetch, { locks, storage: new FakeStorage() });
  const tabB = tab(server.fetch, { locks, storage: new FakeStorage() });
  server.expireAccess();
  const [a, b] = await Promise.all([tabA.self(), tabB.self()]);
  assert.equal(a.id, "u1");
  assert.equal(b.id, "u1");
  assert.equal(server.state.reuseDetected, false);
  assert.equal(locks.maxHeld, 1);
});

test("a refresh marker older than the request does not skip the refresh", async () => {
  const server = sessionServer();
  const storage = new FakeStorage();
  storage.setItem(`authsvc:refreshed-at ${BASE}`, String(Date.now() - 60_000));
  const auth = tab(server.fetch, { locks: new FakeLocks(), storage });
  server.expireAccess();
  await auth.self();
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
});

test("a refresh that answers 401 ends the session: sessionend, onSessionEnd, AuthError, no loop", async () => {
  const server = sessionServer();
  const ends = [];
  const events = [];
  const auth = tab(server.fetch, { onSessionEnd: (d) => ends.push(d), locks: new FakeLocks(), storage: new FakeStorage() });
  auth.addEventListener("sessionend", (e) => events.push(e.detail));
  server.state.alive = false;
  const results = await Promise.allSettled([auth.self(), auth.self(), auth.updateSelf({ name: "x" })]);
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.ok(r.reason instanceof AuthError);
    assert.equal(r.reason.status, 401);
    assert.equal(r.reason.code, "invalid_token");
  }
  assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
  assert.equal(server.fetch.count("GET /auth/self/"), 2, "no retry after a failed refresh");
  assert.deepEqual(events, [{ reason: "invalid_token" }]);
  assert.deepEqual(ends, [{ reason: "invalid_token" }]);
  // The next call tries once more (another tab may have logged in), and stops again.
  await assert.rejects(auth.self(), (e) => e.code === "invalid_token");
  assert.equal(server.fetch.count("POST /auth/refresh/"), 2);
  assert.equal(events.length, 2);
});

test("a retry that still answers 401 ends the session and is not retried again", async () => {
  const fetch = fakeFetch({
    "GET /auth/self/": () => reply(401, { error: "invalid_token", detail: "Session ended." }),
    "POST /auth/refresh/": () => reply(200, { id: "u1" }),
  });
  const ends = [];
  const auth = tab(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.self(), (e) => e instanceof AuthError && e.code === "invalid_token");
  assert.equal(fetch.count("GET /auth/self/"), 2);
  assert.equal(fetch.count("POST /auth/refresh/"), 1);
  assert.deepEqual(ends, [{ reason: "invalid_token" }]);
});

test("refresh() refreshes now, and a 401 there ends the session", async () => {
  const server = sessionServer();
  const ends = [];
  const auth = tab(server.fetch, { onSessionEnd: (d) => ends.push(d) });
  assert.deepEqual(await auth.refresh(), { id: "u1" });
  assert.equal(server.state.generation, 2);
  server.state.alive = false;
  await assert.rejects(auth.refresh(), (e) => e.status === 401 && e.code === "invalid_token");
  assert.deepEqual(ends, [{ reason: "invalid_token" }]);
});

test("a refresh that fails otherwise (5xx, network) is thrown without ending the session", async () => {
  const fetch = fakeFetch({
    "GET /auth/self/": () => reply(401, { error: "invalid_token", detail: "expired" }),
    "POST /auth/refresh/": [() => reply(503, { error: "unavailable", detail: "db" }, { "Retry-After": "5" }),
      () => { throw new TypeError("Failed to fetch"); }],
  });
  const ends = [];
  const auth = tab(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.self(), (e) => e.status === 503 && e.retryAfter === 5);
  await assert.rejects(auth.self(), TypeError);
  assert.deepEqual(ends, []);
  assert.equal(fetch.count("GET /auth/self/"), 2);
});

test("a refresh whose CSRF token is stale refetches it and retries once", async () => {
  let good = "csrf-2";
  const fetch = fakeFetch({
    "GET /auth/self/": [() => reply(401, { error: "invalid_token", detail: "x" }), () => reply(200, { id: "u1" })],
    "POST /auth/refresh/": (call) => call.headers.get("X-CSRFToken") === good
      ? reply(200, { id: "u1" }) : reply(403, { error: "csrf_failed", detail: "x" }),
  });
  const auth = tab(fetch);
  await auth.csrf();
  assert.deepEqual(await auth.self(), { id: "u1" });
  assert.equal(fetch.count("POST /auth/refresh/"), 2);
  good = "";
});

test("tabs hear each other over BroadcastChannel: logout and a session's end reach every tab", async () => {
  const baseUrl = `https://bc-${process.pid}-${Date.now()}.example.com`;
  const fetch = fakeFetch({
    "POST /auth/logout/": () => reply(200, { detail: "Logged out." }),
    "GET /auth/self/": () => reply(401, { error: "invalid_token", detail: "gone" }),
    "POST /auth/refresh/": () => reply(401, { error: "invalid_token", detail: "gone" }),
  });
  const a = new AuthClient({ baseUrl, fetch, locks: null, storage: null });
  const b = new AuthClient({ baseUrl, fetch, locks: null, storage: null });
  const other = new AuthClient({ baseUrl: `${baseUrl}.other`, fetch, locks: null, storage: null });
  const heard = { a: [], b: [], other: [] };
  a.addEventListener("sessionend", (e) => heard.a.push(e.detail.reason));
  b.addEventListener("sessionend", (e) => heard.b.push(e.detail.reason));
  other.addEventListener("sessionend", (e) => heard.other.push(e.detail.reason));
  try {
    await a.logout();
    await tick(20);
    assert.deepEqual(heard.a, ["logout"]);
    assert.deepEqual(heard.b, ["logout"], "the other tab learns of the logout");
    await assert.rejects(b.self());
    await tick(20);
    assert.deepEqual(heard.b, ["logout", "invalid_token"]);
    assert.deepEqual(heard.a, ["logout", "invalid_token"], "and of the session's end");
    assert.deepEqual(heard.other, [], "another authsvc's tabs hear nothing");
  } finally {
    a.close();
    b.close();
    other.close();
  }
});

test("a refresh in another tab, heard over BroadcastChannel, spares this tab its own", async () => {
  const baseUrl = `https://bc2-${process.pid}-${Date.now()}.example.com`;
  const server = sessionServer();
  const locks = new FakeLocks();
  // No shared storage: only the broadcast tells tab B that tab A refreshed.
  const a = new AuthClient({ baseUrl, fetch: server.fetch, locks, storage: null });
  const b = new AuthClient({ baseUrl, fetch: server.fetch, locks, storage: null });
  try {
    server.expireAccess();
    const sentAt = Date.now();
    await a.refresh();
    await tick(20);
    assert.ok(b._lastRefresh >= sentAt);
    // B's request, sent before A's refresh landed, failed: B retries without refreshing.
    await b._refresh(sentAt);
    assert.equal(server.fetch.count("POST /auth/refresh/"), 1);
  } finally {
    a.close();
    b.close();
  }
});
