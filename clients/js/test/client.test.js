import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthClient, AuthError } from "../src/index.js";
import { fakeFetch, reply, FakeLocks, FakeStorage } from "./fakes.js";

const BASE = "https://auth.example.com";
const client = (fetch, options = {}) =>
  new AuthClient({ baseUrl: BASE, fetch, locks: null, storage: null, channel: null, ...options });

test("the CSRF token is fetched once, sent on writes and not on reads", async () => {
  const fetch = fakeFetch({
    "GET /auth/self/": () => reply(200, { id: "u1" }),
    "PATCH /auth/self/": (call) => reply(200, { id: "u1", name: call.body.name }),
    "POST /auth/login/": () => reply(200, { id: "u1" }),
  });
  const auth = client(fetch);
  await Promise.all([auth.login({ email: "a@b.c", password: "pw" }), auth.updateSelf({ name: "A" })]);
  await auth.updateSelf({ name: "B" });
  await auth.self();
  assert.equal(fetch.count("GET /auth/csrf/"), 1);
  const csrfCall = fetch.calls.find((c) => c.path === "/auth/csrf/");
  assert.equal(csrfCall.url, `${BASE}/auth/csrf/`);
  assert.equal(csrfCall.credentials, "include");
  for (const call of fetch.calls.filter((c) => c.method !== "GET")) {
    assert.equal(call.headers.get("X-CSRFToken"), "csrf-1", call.path);
    assert.equal(call.headers.get("Content-Type"), "application/json");
    assert.equal(call.headers.get("Accept"), "application/json");
    assert.equal(call.credentials, "include");
  }
  const get = fetch.calls.find((c) => c.method === "GET" && c.path === "/auth/self/");
  assert.equal(get.headers.get("X-CSRFToken"), null);
  assert.equal(get.headers.get("Content-Type"), null, "no body, no Content-Type");
  assert.equal(get.headers.get("Accept"), "application/json");
  assert.equal(get.credentials, "include");
  assert.equal(await auth.csrf(), "csrf-1");
  assert.equal(fetch.count("GET /auth/csrf/"), 1);
});

test("csrf_failed refetches the token once and retries once", async () => {
  const fetch = fakeFetch({
    "PATCH /auth/self/": (call) => call.headers.get("X-CSRFToken") === "csrf-2"
      ? reply(200, { name: call.body.name })
      : reply(403, { error: "csrf_failed", detail: "CSRF token missing or incorrect." }),
  });
  const auth = client(fetch);
  assert.deepEqual(await auth.updateSelf({ name: "A" }), { name: "A" });
  assert.equal(fetch.count("GET /auth/csrf/"), 2);
  assert.equal(fetch.count("PATCH /auth/self/"), 2);
  // The new token is kept.
  await auth.updateSelf({ name: "B" });
  assert.equal(fetch.count("GET /auth/csrf/"), 2);
});

test("a second csrf_failed is thrown, not retried again", async () => {
  const fetch = fakeFetch({
    "POST /auth/login/": () => reply(403, { error: "csrf_failed", detail: "no" }),
  });
  const auth = client(fetch);
  await assert.rejects(auth.login({ email: "a@b.c", password: "pw" }),
    (e) => e instanceof AuthError && e.status === 403 && e.code === "csrf_failed");
  assert.equal(fetch.count("POST /auth/login/"), 2);
  assert.equal(fetch.count("GET /auth/csrf/"), 2);
});

test("a failed CSRF fetch is thrown and not cached", async () => {
  const fetch = fakeFetch({
    "GET /auth/csrf/": [() => reply(503, { error: "unavailable", detail: "down" }, { "Retry-After": "3" }),
      () => reply(200, { csrfToken: "t" })],
    "POST /auth/logout/": () => reply(200, { detail: "Logged out." }),
  });
  const auth = client(fetch);
  await assert.rejects(auth.csrf(), (e) => e.status === 503 && e.code === "unavailable" && e.retryAfter === 3);
  assert.equal(await auth.csrf(), "t");
});

test("login answers ok, or mfa_required and then verifyMfa", async () => {
  const fetch = fakeFetch({
    "POST /auth/login/": [
      () => reply(200, { id: "u1" }),
      () => reply(200, { mfa_required: true, methods: ["totp", "backup_code"] }),
    ],
    "POST /auth/2fa/verify/": (call) => call.body.code === "123456"
      ? reply(200, { id: "u2" }) : reply(401, { error: "invalid_code", detail: "Wrong code." }),
  });
  const auth = client(fetch);
  assert.deepEqual(await auth.login({ email: "a@b.c", password: "pw" }), { status: "ok", id: "u1" });
  assert.deepEqual(fetch.calls.at(-1).body, { email: "a@b.c", password: "pw" });
  assert.deepEqual(await auth.login({ email: "m@b.c", password: "pw" }),
    { status: "mfa_required", methods: ["totp", "backup_code"] });
  await assert.rejects(auth.verifyMfa({ code: "000000" }), (e) => e.code === "invalid_code" && e.status === 401);
  assert.deepEqual(await auth.verifyMfa({ code: "123456" }), { status: "ok", id: "u2" });
  assert.deepEqual(fetch.calls.at(-1).body, { code: "123456" });
  assert.equal(fetch.count("POST /auth/refresh/"), 0, "a wrong code never refreshes");
});

test("a 401 from login, register, 2FA verify or a password reset never refreshes", async () => {
  const no = () => reply(401, { error: "invalid_credentials", detail: "Invalid email or password." });
  const fetch = fakeFetch({
    "POST /auth/login/": no,
    "POST /auth/register/": () => reply(401, { error: "not_authenticated", detail: "?" }),
    "POST /auth/2fa/verify/": () => reply(401, { error: "mfa_challenge_expired", detail: "Start again." }),
    "POST /auth/password/reset/confirm/": () => reply(401, { error: "invalid_token", detail: "?" }),
    "POST /auth/refresh/": () => reply(200, { id: "u1" }),
  });
  const ends = [];
  const auth = client(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.login({ email: "a@b.c", password: "x" }), (e) => e.code === "invalid_credentials");
  await assert.rejects(auth.register({ email: "a@b.c", password: "x" }), (e) => e.status === 401);
  await assert.rejects(auth.verifyMfa({ code: "1" }), (e) => e.code === "mfa_challenge_expired");
  await assert.rejects(auth.confirmPasswordReset({ uid: "u", token: "t", newPassword: "p" }), (e) => e.status === 401);
  assert.equal(fetch.count("POST /auth/refresh/"), 0);
  assert.deepEqual(ends, []);
});

test("a wrong password on an authenticated call (reauth) is not a session end", async () => {
  const fetch = fakeFetch({
    "POST /auth/reauth/": () => reply(401, { error: "invalid_credentials", detail: "Wrong password." }),
    "POST /auth/refresh/": () => reply(200, { id: "u1" }),
  });
  const ends = [];
  const auth = client(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.reauth({ password: "nope" }), (e) => e.code === "invalid_credentials");
  assert.equal(fetch.count("POST /auth/refresh/"), 0);
  assert.deepEqual(ends, []);
});

test("AuthError carries status, code, detail, fields and retryAfter", async () => {
  const fetch = fakeFetch({
    "POST /auth/register/": () => reply(400, {
      error: "invalid_request", detail: "Invalid input.", fields: { password: ["Too common."] },
    }),
    "POST /auth/password/reset/": [
      () => reply(429, { error: "rate_limited", detail: "Slow down." }, { "Retry-After": "42" }),
      () => reply(429, { error: "rate_limited", detail: "Slow down." },
        { "Retry-After": new Date(Date.now() + 30_000).toUTCString() }),
    ],
    "GET /auth/self/": () => new Response("<html>Bad gateway</html>", { status: 502 }),
  });
  const auth = client(fetch);
  const e1 = await auth.register({ email: "a@b.c", password: "password" }).catch((e) => e);
  assert.ok(e1 instanceof AuthError && e1 instanceof Error);
  assert.equal(e1.name, "AuthError");
  assert.equal(e1.status, 400);
  assert.equal(e1.code, "invalid_request");
  assert.equal(e1.detail, "Invalid input.");
  assert.deepEqual(e1.fields, { password: ["Too common."] });
  assert.equal(e1.retryAfter, undefined);
  assert.match(e1.message, /invalid_request/);

  const e2 = await auth.requestPasswordReset({ email: "a@b.c" }).catch((e) => e);
  assert.equal(e2.status, 429);
  assert.equal(e2.code, "rate_limited");
  assert.equal(e2.retryAfter, 42);
  assert.equal(e2.fields, undefined);
  const e3 = await auth.requestPasswordReset({ email: "a@b.c" }).catch((e) => e);
  assert.ok(e3.retryAfter >= 28 && e3.retryAfter <= 30, String(e3.retryAfter));

  const e4 = await auth.self().catch((e) => e);
  assert.equal(e4.status, 502);
  assert.equal(e4.code, "http_error");
});

test("a network failure propagates as fetch's own error", async () => {
  const boom = new TypeError("Failed to fetch");
  const fetch = fakeFetch({ "GET /auth/self/": () => { throw boom; } });
  const ends = [];
  const auth = client(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.self(), (e) => e === boom);
  assert.deepEqual(ends, []);
});

test("logout emits sessionend (reason logout), is idempotent, and forgets the CSRF token", async () => {
  const fetch = fakeFetch({ "POST /auth/logout/": () => reply(200, { detail: "Logged out." }) });
  const ends = [];
  const events = [];
  const auth = client(fetch, { onSessionEnd: (d) => ends.push(d) });
  auth.addEventListener("sessionend", (e) => events.push(e));
  assert.deepEqual(await auth.logout(), { detail: "Logged out." });
  assert.deepEqual(await auth.logout(), { detail: "Logged out." });
  assert.equal(events.length, 2);
  assert.ok(events[0] instanceof CustomEvent);
  assert.deepEqual(events[0].detail, { reason: "logout" });
  assert.deepEqual(ends, [{ reason: "logout" }, { reason: "logout" }]);
  assert.equal(fetch.count("GET /auth/csrf/"), 2, "a fresh CSRF token after each logout");
  assert.equal(fetch.count("POST /auth/refresh/"), 0);
});

test("a failed logout is thrown without a sessionend, and still forgets the CSRF token", async () => {
  const fetch = fakeFetch({
    "POST /auth/logout/": [() => { throw new TypeError("Failed to fetch"); }, () => reply(200, { detail: "ok" })],
  });
  const ends = [];
  const auth = client(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.logout(), TypeError);
  assert.deepEqual(ends, []);
  await auth.logout();
  assert.deepEqual(ends, [{ reason: "logout" }]);
  assert.equal(fetch.count("GET /auth/csrf/"), 2);
});

test("logoutAll emits sessionend (reason logout)", async () => {
  const fetch = fakeFetch({ "POST /auth/logout-all/": () => reply(200, { detail: "Logged out.", revoked: 3 }) });
  const events = [];
  const auth = client(fetch);
  auth.addEventListener("sessionend", (e) => events.push(e.detail));
  assert.deepEqual(await auth.logoutAll(), { detail: "Logged out.", revoked: 3 });
  assert.deepEqual(events, [{ reason: "logout" }]);
});

test("contract field names: camelCase options map to the API's snake_case", async () => {
  const ok = () => reply(200, {});
  const fetch = fakeFetch({
    "POST /auth/password/change/": ok,
    "POST /auth/password/reset/confirm/": ok,
    "POST /auth/password/reset/": () => reply(202, { detail: "sent" }),
    "POST /auth/register/": () => reply(201, { id: "u1" }),
    "POST /auth/email/verify/": ok,
    "POST /auth/reauth/": () => reply(200, { auth_time: 1 }),
    "DELETE /auth/sessions/a%2Fb/": () => reply(204),
    "GET /auth/sessions/": () => reply(200, [{ id: "s1", current: true }]),
  });
  const auth = client(fetch);
  const body = () => fetch.calls.at(-1).body;
  await auth.changePassword({ currentPassword: "old", newPassword: "new" });
  assert.deepEqual(body(), { current_password: "old", new_password: "new" });
  await auth.confirmPasswordReset({ uid: "MQ", token: "abc-123", newPassword: "new" });
  assert.deepEqual(body(), { uid: "MQ", token: "abc-123", new_password: "new" });
  assert.deepEqual(await auth.requestPasswordReset({ email: "a@b.c" }), { detail: "sent" });
  assert.deepEqual(body(), { email: "a@b.c" });
  assert.deepEqual(await auth.register({ email: "a@b.c", password: "pw" }), { id: "u1" });
  assert.deepEqual(body(), { email: "a@b.c", password: "pw" });
  await auth.register({ email: "a@b.c", password: "pw", name: "Ada" });
  assert.deepEqual(body(), { email: "a@b.c", password: "pw", name: "Ada" });
  await auth.verifyEmail({ key: "k" });
  assert.deepEqual(body(), { key: "k" });
  await auth.reauth({ password: "pw" });
  assert.deepEqual(body(), { password: "pw" });
  assert.deepEqual(await auth.reauth({ code: "123456" }), { auth_time: 1 });
  assert.deepEqual(body(), { code: "123456" });
  assert.equal(await auth.revokeSession("a/b"), null);
  assert.equal(fetch.calls.at(-1).method, "DELETE");
  assert.equal(fetch.calls.at(-1).headers.get("X-CSRFToken"), "csrf-1");
  assert.deepEqual(await auth.sessions(), [{ id: "s1", current: true }]);
});

test("baseUrl joins with or without a trailing slash, and defaults to the same origin", async () => {
  for (const [baseUrl, expected] of [
    ["https://auth.example.com", "https://auth.example.com/auth/self/"],
    ["https://auth.example.com/", "https://auth.example.com/auth/self/"],
    ["https://example.com/authsvc//", "https://example.com/authsvc/auth/self/"],
    ["", "/auth/self/"],
    [undefined, "/auth/self/"],
  ]) {
    const fetch = fakeFetch({ "GET /auth/self/": () => reply(200, {}), "GET /authsvc/auth/self/": () => reply(200, {}) });
    const auth = new AuthClient({ baseUrl, fetch, locks: null, storage: null, channel: null });
    await auth.self();
    assert.equal(fetch.calls[0].url, expected, String(baseUrl));
    await auth.request("auth/self/");
    assert.equal(fetch.calls[1].url, expected, "a path without its leading slash");
  }
});

test("request() is the generic call: method, body, headers, auth", async () => {
  const fetch = fakeFetch({
    "POST /auth/2fa/totp/setup/": () => reply(200, { secret: "S" }),
    "GET /auth/passkeys/": () => reply(401, { error: "not_authenticated", detail: "?" }),
  });
  const auth = client(fetch);
  assert.deepEqual(await auth.request("/auth/2fa/totp/setup/", { method: "post", headers: { "X-Extra": "1" } }),
    { secret: "S" });
  const call = fetch.calls.at(-1);
  assert.equal(call.method, "POST");
  assert.equal(call.headers.get("X-Extra"), "1");
  assert.equal(call.headers.get("X-CSRFToken"), "csrf-1");
  assert.equal(call.body, undefined);
  await assert.rejects(auth.request("/auth/passkeys/", { auth: false }), (e) => e.code === "not_authenticated");
  assert.equal(fetch.count("POST /auth/refresh/"), 0);
});

test("the module imports nothing and the declarations cover every export", async () => {
  const { readFile } = await import("node:fs/promises");
  const source = await readFile(new URL("../src/index.js", import.meta.url), "utf8");
  assert.doesNotMatch(source, /^\s*import\s/m);
  assert.doesNotMatch(source, /\bimport\s*\(/);
  assert.doesNotMatch(source, /\brequire\s*\(/);
  const dts = await readFile(new URL("../src/index.d.ts", import.meta.url), "utf8");
  const mod = await import("../src/index.js");
  for (const name of Object.keys(mod)) assert.match(dts, new RegExp(`export declare class ${name}\\b`), name);
});

test("defaults: fakes aside, the client runs on Node's own globals", async () => {
  // No locks (Node has no navigator.locks), no localStorage; a BroadcastChannel is opened
  // and unref'd, so it never keeps the process alive.
  const auth = new AuthClient({ baseUrl: BASE, fetch: fakeFetch({}) });
  assert.equal(auth.lockName, `authsvc-refresh ${BASE}`);
  auth.close();
  auth.close();
  assert.ok(new FakeLocks() && new FakeStorage());
});

test("request() takes paths on authsvc only: an absolute URL never gets the CSRF token", async () => {
  const fetch = fakeFetch({ "GET /auth/csrf/": () => reply(200, { csrfToken: "csrf-1" }) });
  const auth = new AuthClient({ baseUrl: "https://auth.example.com", fetch, locks: null, storage: null, channel: null });
  for (const url of ["https://evil.example/steal", "//evil.example/steal", "javascript:alert(1)"]) {
    await assert.rejects(auth.request(url, { method: "POST", body: {} }), TypeError, url);
  }
  assert.equal(fetch.calls.length, 0);
});
