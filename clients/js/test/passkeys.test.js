import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthClient, AuthError } from "../src/index.js";
import { fakeFetch, reply } from "./fakes.js";

const BASE = "https://auth.example.com";
const b64u = (bytes) => Buffer.from(bytes).toString("base64url");

// navigator.credentials in miniature: records what it was given, answers a credential
// whose buffers are known bytes (no toJSON, as in browsers without WebAuthn Level 3).
function fakeCredentials() {
  const calls = [];
  const credential = (kind) => ({
    id: b64u([1, 2, 3]),
    rawId: new Uint8Array([1, 2, 3]).buffer,
    type: "public-key",
    authenticatorAttachment: "platform",
    getClientExtensionResults: () => ({}),
    response: kind === "create"
      ? {
        clientDataJSON: new Uint8Array([4]).buffer,
        attestationObject: new Uint8Array([5, 6]).buffer,
        getTransports: () => ["internal"],
      }
      : {
        clientDataJSON: new Uint8Array([4]).buffer,
        authenticatorData: new Uint8Array([7]).buffer,
        signature: new Uint8Array([8, 9]).buffer,
        userHandle: new Uint8Array([10]).buffer,
      },
  });
  return {
    calls,
    async create(options) { calls.push(["create", options]); return credential("create"); },
    async get(options) { calls.push(["get", options]); return credential("get"); },
  };
}

const client = (fetch, credentials) => new AuthClient({
  baseUrl: BASE, fetch, locks: null, storage: null, channel: null, credentials,
});

const CREATION = {
  rp: { id: "example.com", name: "authsvc" },
  user: { id: b64u([0xfb, 0xff]), name: "a@b.c", displayName: "A" },
  challenge: b64u([0xff, 0xfe, 0xfd]),
  pubKeyCredParams: [{ type: "public-key", alg: -7 }],
  excludeCredentials: [{ id: b64u([9, 9]), type: "public-key", transports: ["usb"] }],
  authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
};
const REQUEST = { challenge: b64u([1, 1]), rpId: "example.com", allowCredentials: [], userVerification: "required" };

test("the options' base64url fields become bytes, the rest stays", async () => {
  const fetch = fakeFetch({
    "POST /auth/passkeys/register/options/": () => reply(200, CREATION),
    "POST /auth/passkeys/register/": () => reply(201, { id: "p1" }),
    "POST /auth/2fa/passkey/options/": () => reply(200, { ...REQUEST, allowCredentials: [{ id: b64u([3]), type: "public-key" }] }),
    "POST /auth/2fa/passkey/": () => reply(200, { id: "u1" }),
  });
  const credentials = fakeCredentials();
  const auth = client(fetch, credentials);
  await auth.registerPasskey();
  await auth.verifyMfaPasskey();
  const creation = credentials.calls[0][1].publicKey;
  assert.deepEqual([...creation.challenge], [0xff, 0xfe, 0xfd]);
  assert.deepEqual([...creation.user.id], [0xfb, 0xff]);
  assert.equal(creation.user.name, "a@b.c");
  assert.deepEqual([...creation.excludeCredentials[0].id], [9, 9]);
  assert.deepEqual(creation.excludeCredentials[0].transports, ["usb"]);
  assert.equal(creation.authenticatorSelection.userVerification, "required");
  const request = credentials.calls[1][1].publicKey;
  assert.deepEqual([...request.challenge], [1, 1]);
  assert.deepEqual([...request.allowCredentials[0].id], [3]);
  // No name given: none sent (authsvc names it).
  assert.equal("name" in fetch.calls.find((c) => c.path === "/auth/passkeys/register/").body, false);
});

test("a credential's toJSON() is used when the browser has it", async () => {
  const json = { id: "x", rawId: "x", type: "public-key", response: { clientDataJSON: "e30" } };
  const fetch = fakeFetch({
    "POST /auth/passkeys/login/options/": () => reply(200, REQUEST),
    "POST /auth/passkeys/login/": () => reply(200, { id: "u1" }),
  });
  const credentials = { get: async () => ({ toJSON: () => json }) };
  await client(fetch, credentials).loginWithPasskey();
  assert.deepEqual(fetch.calls.find((c) => c.path === "/auth/passkeys/login/").body, { credential: json });
});

test("registerPasskey: options, create, then the credential and the name", async () => {
  const fetch = fakeFetch({
    "POST /auth/passkeys/register/options/": () => reply(200, CREATION),
    "POST /auth/passkeys/register/": (call) => reply(201, { id: "p1", name: call.body.name, created_at: "t" }),
  });
  const credentials = fakeCredentials();
  const created = await client(fetch, credentials).registerPasskey({ name: "Laptop" });
  assert.deepEqual(created, { id: "p1", name: "Laptop", created_at: "t" });
  const [kind, options] = credentials.calls[0];
  assert.equal(kind, "create");
  assert.deepEqual([...options.publicKey.challenge], [0xff, 0xfe, 0xfd]);
  const sent = fetch.calls.find((c) => c.path === "/auth/passkeys/register/").body;
  assert.equal(sent.name, "Laptop");
  assert.deepEqual(sent.credential, {
    id: "AQID",
    rawId: "AQID",
    type: "public-key",
    response: { clientDataJSON: "BA", attestationObject: "BQY", transports: ["internal"] },
    clientExtensionResults: {},
    authenticatorAttachment: "platform",
  });
  for (const call of fetch.calls.filter((c) => c.method === "POST")) {
    assert.equal(call.headers.get("X-CSRFToken"), "csrf-1");
  }
});

test("registerPasskey without a recent authentication throws reauth_required and creates nothing", async () => {
  const fetch = fakeFetch({
    "POST /auth/passkeys/register/options/": () => reply(403, { error: "reauth_required", detail: "Confirm." }),
  });
  const credentials = fakeCredentials();
  await assert.rejects(client(fetch, credentials).registerPasskey(),
    (e) => e instanceof AuthError && e.status === 403 && e.code === "reauth_required");
  assert.equal(credentials.calls.length, 0);
});

test("loginWithPasskey: discoverable options, get, then the assertion", async () => {
  const fetch = fakeFetch({
    "POST /auth/passkeys/login/options/": () => reply(200, REQUEST),
    "POST /auth/passkeys/login/": () => reply(200, { id: "u1" }),
  });
  const credentials = fakeCredentials();
  assert.deepEqual(await client(fetch, credentials).loginWithPasskey({ mediation: "optional" }), { status: "ok", id: "u1" });
  const [kind, options] = credentials.calls[0];
  assert.equal(kind, "get");
  assert.equal(options.mediation, "optional");
  assert.deepEqual(options.publicKey.allowCredentials, []);
  const sent = fetch.calls.find((c) => c.path === "/auth/passkeys/login/").body.credential;
  assert.deepEqual(sent.response, {
    clientDataJSON: "BA", authenticatorData: "Bw", signature: "CAk", userHandle: "Cg",
  });
});

test("a refused passkey is an AuthError and no refresh is tried", async () => {
  const fetch = fakeFetch({
    "POST /auth/passkeys/login/options/": () => reply(200, REQUEST),
    "POST /auth/passkeys/login/": () => reply(401, { error: "invalid_credential", detail: "No." }),
  });
  await assert.rejects(client(fetch, fakeCredentials()).loginWithPasskey(),
    (e) => e instanceof AuthError && e.code === "invalid_credential");
  assert.equal(fetch.count("POST /auth/refresh/"), 0);
});

test("verifyMfaPasskey: the 2FA step's options and answer", async () => {
  const fetch = fakeFetch({
    "POST /auth/2fa/passkey/options/": () => reply(200, { ...REQUEST, allowCredentials: [{ id: "AQID", type: "public-key" }] }),
    "POST /auth/2fa/passkey/": () => reply(200, { id: "u1" }),
  });
  const credentials = fakeCredentials();
  assert.deepEqual(await client(fetch, credentials).verifyMfaPasskey(), { status: "ok", id: "u1" });
  assert.deepEqual([...credentials.calls[0][1].publicKey.allowCredentials[0].id], [1, 2, 3]);
});

test("the passkey list, rename and delete", async () => {
  const fetch = fakeFetch({
    "GET /auth/passkeys/": () => reply(200, [{ id: "p/1", name: "A", created_at: "t", last_used_at: null }]),
    "PATCH /auth/passkeys/p%2F1/": (call) => reply(200, { id: "p/1", name: call.body.name }),
    "DELETE /auth/passkeys/p%2F1/": () => reply(204),
  });
  const auth = client(fetch, null);
  assert.equal((await auth.listPasskeys())[0].name, "A");
  assert.equal((await auth.renamePasskey("p/1", { name: "B" })).name, "B");
  assert.equal(await auth.deletePasskey("p/1"), null);
});

test("without WebAuthn the passkey ceremonies say so", async () => {
  const fetch = fakeFetch({ "POST /auth/passkeys/login/options/": () => reply(200, REQUEST) });
  await assert.rejects(client(fetch, null).loginWithPasskey(), TypeError);
});

test("reauthWithPasskey: the step-up's options and answer, with the session's CSRF", async () => {
  const fetch = fakeFetch({
    "POST /auth/reauth/passkey/options/": () => reply(200, { ...REQUEST, allowCredentials: [{ id: "AQID", type: "public-key" }] }),
    "POST /auth/reauth/passkey/": () => reply(200, { auth_time: 1700000000 }),
  });
  const credentials = fakeCredentials();
  assert.deepEqual(await client(fetch, credentials).reauthWithPasskey(), { auth_time: 1700000000 });
  assert.equal(credentials.calls[0][0], "get");
  const answer = fetch.calls.find((c) => c.path === "/auth/reauth/passkey/");
  assert.equal(answer.headers.get("X-CSRFToken"), "csrf-1");
  assert.equal(answer.body.credential.response.signature, "CAk");
});
