import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthClient } from "../src/index.js";
import { fakeFetch, reply } from "./fakes.js";

const BASE = "https://auth.example.com";
const client = (fetch, options = {}) =>
  new AuthClient({ baseUrl: BASE, fetch, locks: null, storage: null, channel: null, ...options });
const ACCEPTED = { detail: "If an account uses this address, a sign-in code is on its way." };

test("requestLoginCode posts the address with the CSRF token and resolves the 202 body", async () => {
  const fetch = fakeFetch({ "POST /auth/login/code/": () => reply(202, ACCEPTED) });
  const auth = client(fetch);
  assert.deepEqual(await auth.requestLoginCode({ email: "a@b.c" }), ACCEPTED);
  const call = fetch.calls.at(-1);
  assert.deepEqual(call.body, { email: "a@b.c" });
  assert.equal(call.headers.get("X-CSRFToken"), "csrf-1");
  assert.equal(call.credentials, "include");
});

test("requestLoginCode rejects a 429 with its Retry-After", async () => {
  const fetch = fakeFetch({
    "POST /auth/login/code/": () =>
      reply(429, { error: "rate_limited", detail: "Too many requests." }, { "Retry-After": "120" }),
  });
  await assert.rejects(client(fetch).requestLoginCode({ email: "a@b.c" }),
    (e) => e.code === "rate_limited" && e.status === 429 && e.retryAfter === 120);
});

test("loginWithCode answers ok, or mfa_required and then verifyMfa", async () => {
  const fetch = fakeFetch({
    "POST /auth/login/code/confirm/": [
      () => reply(200, { id: "u1" }),
      () => reply(200, { mfa_required: true, methods: ["totp", "backup_code"] }),
    ],
    "POST /auth/2fa/verify/": () => reply(200, { id: "u2" }),
  });
  const auth = client(fetch);
  assert.deepEqual(await auth.loginWithCode({ email: "a@b.c", code: "123456" }), { status: "ok", id: "u1" });
  assert.deepEqual(fetch.calls.at(-1).body, { email: "a@b.c", code: "123456" });
  assert.deepEqual(await auth.loginWithCode({ email: "m@b.c", code: "654321" }),
    { status: "mfa_required", methods: ["totp", "backup_code"] });
  assert.deepEqual(await auth.verifyMfa({ code: "000111" }), { status: "ok", id: "u2" });
});

test("a wrong code is invalid_code and never a refresh or a session end", async () => {
  const fetch = fakeFetch({
    "POST /auth/login/code/confirm/": () => reply(401, { error: "invalid_code", detail: "Wrong code." }),
    "POST /auth/refresh/": () => reply(200, { id: "u1" }),
  });
  const ends = [];
  const auth = client(fetch, { onSessionEnd: (d) => ends.push(d) });
  await assert.rejects(auth.loginWithCode({ email: "a@b.c", code: "000000" }),
    (e) => e.code === "invalid_code" && e.status === 401);
  assert.equal(fetch.count("POST /auth/refresh/"), 0);
  assert.deepEqual(ends, []);
});

test("the declarations name both calls", async () => {
  const { readFile } = await import("node:fs/promises");
  const dts = await readFile(new URL("../src/index.d.ts", import.meta.url), "utf8");
  assert.match(dts, /requestLoginCode\(input: \{ email: string \}\): Promise<DetailBody>;/);
  assert.match(dts, /loginWithCode\(input: \{ email: string; code: string \}\): Promise<LoginResult>;/);
});
