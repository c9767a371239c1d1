// @authsvc/client: authsvc's browser client. No dependencies, no build step: load this file
// as it is with <script type="module"> or through a bundler. The HTTP contract it speaks is
// docs/contract.md; the cookie flows are docs/frontends.md.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
// 401s that judge what the caller typed (a password, a code), not the session: no refresh.
const CREDENTIAL_ERRORS = new Set([
  "invalid_credentials", "invalid_code", "invalid_credential", "mfa_challenge_expired",
]);

/** An error answer from authsvc: `{"error", "detail", "fields"?}` plus the HTTP status. */
export class AuthError extends Error {
  constructor(status, body, retryAfter) {
    const code = (body && typeof body.error === "string") ? body.error : "http_error";
    const detail = (body && typeof body.detail === "string") ? body.detail : `HTTP ${status}`;
    super(`${code}: ${detail}`);
    this.name = "AuthError";
    /** HTTP status code. */
    this.status = status;
    /** authsvc's error code (the body's `error`), or "http_error" for a body without one. */
    this.code = code;
    /** The human sentence authsvc sent. */
    this.detail = detail;
    /** Validation errors by field name, when authsvc sent them. */
    this.fields = (body && body.fields) || undefined;
    /** Seconds to wait (from Retry-After), when the answer carried one. */
    this.retryAfter = retryAfter;
  }
}

function parseRetryAfter(value) {
  if (value == null || value === "") return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const when = Date.parse(value);
  return Number.isNaN(when) ? undefined : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return null; }
}

// WebAuthn: authsvc sends options and takes credentials as JSON with base64url binary
// fields (WebAuthn Level 3's *JSON forms); navigator.credentials wants and gives buffers.
function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function toBase64url(buffer) {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

/** Creation options JSON (from authsvc) as `navigator.credentials.create()` takes them. */
function creationOptionsFromJSON(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: withIds(json.excludeCredentials),
  };
}

/** Request options JSON (from authsvc) as `navigator.credentials.get()` takes them. */
function requestOptionsFromJSON(json) {
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: withIds(json.allowCredentials) };
}

/** A PublicKeyCredential as the JSON authsvc takes: its toJSON(), or the same shape by hand. */
function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    authenticatorAttachment: credential.authenticatorAttachment || null,
  };
}

function defaultChannel(name) {
  try { return typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null; } catch { return null; }
}

function defaultStorage() {
  try { return globalThis.localStorage || null; } catch { return null; } // may throw when blocked
}

/**
 * authsvc's browser client. Events: `sessionend` (CustomEvent, `detail: {reason}`).
 */
// A first factor's answer (password, emailed code): signed in, or the 2FA step next.
function firstFactorResult(body) {
  if (body && body.mfa_required) return { status: "mfa_required", methods: body.methods || [] };
  return { status: "ok", id: body.id };
}

export class AuthClient extends EventTarget {
  /**
   * @param {object} [options] `baseUrl`, `fetch`, `locks`, `storage`, `channel`, `lockName`,
   *   `onSessionEnd`: see index.d.ts and README.md. Pass null to turn `locks`, `storage` or
   *   `channel` off.
   */
  constructor(options = {}) {
    super();
    this.baseUrl = String(options.baseUrl || "").replace(/\/+$/, "");
    const fetchFn = options.fetch || globalThis.fetch;
    if (typeof fetchFn !== "function") throw new TypeError("AuthClient: no fetch available");
    this._fetch = options.fetch ? fetchFn : fetchFn.bind(globalThis);
    // Each of these may be given, or null to go without; undefined takes the browser's.
    this._locks = options.locks !== undefined ? options.locks : globalThis.navigator?.locks || null;
    this._storage = options.storage !== undefined ? options.storage : defaultStorage();
    this._credentials = options.credentials !== undefined
      ? options.credentials : globalThis.navigator?.credentials || null;
    const origin = this.baseUrl || globalThis.location?.origin || "";
    this.lockName = options.lockName || `authsvc-refresh ${origin}`;
    this._storageKey = `authsvc:refreshed-at ${origin}`;
    this._onSessionEnd = options.onSessionEnd;
    this._csrfPromise = null;
    this._refreshing = null;
    this._lastRefresh = 0;
    this._channel = options.channel !== undefined ? options.channel : defaultChannel(`authsvc ${origin}`);
    if (this._channel) {
      if (options.channel === undefined) this._channel.unref?.(); // Node: never hold the process
      this._onMessage = (event) => this._receive(event.data);
      this._channel.addEventListener("message", this._onMessage);
    }
  }

  /** Stops listening to other tabs (closes the BroadcastChannel this client opened). */
  close() {
    if (!this._channel) return;
    this._channel.removeEventListener("message", this._onMessage);
    this._channel.close?.();
    this._channel = null;
  }

  /**
   * The CSRF token from `GET /auth/csrf/`, fetched once and cached (concurrent callers share
   * one request). It is sent as `X-CSRFToken` on every unsafe request.
   * @returns {Promise<string>}
   */
  csrf() {
    if (!this._csrfPromise) {
      const promise = (async () => {
        const response = await this._fetch(this._url("/auth/csrf/"), {
          method: "GET", credentials: "include", headers: { Accept: "application/json" },
        });
        const body = await readJson(response);
        if (!response.ok || !body || typeof body.csrfToken !== "string") {
          throw new AuthError(response.status, body, parseRetryAfter(response.headers.get("Retry-After")));
        }
        return body.csrfToken;
      })();
      this._csrfPromise = promise;
      promise.catch(() => { if (this._csrfPromise === promise) this._csrfPromise = null; });
    }
    return this._csrfPromise;
  }

  /**
   * Any authsvc call: JSON in and out, cookies included, CSRF on unsafe methods. With
   * `auth` (the default) a 401 refreshes the session once and retries once.
   * @returns {Promise<any>} the parsed body (null for an empty one)
   */
  async request(path, { method = "GET", body, headers, auth = true, signal } = {}) {
    method = method.toUpperCase();
    this._url(path); // refuses anything but a path on authsvc before any request
    let answer = await this._send(path, method, body, headers, signal);
    if (auth && this._sessionError(answer)) {
      await this._refresh(answer.sentAt);
      answer = await this._send(path, method, body, headers, signal);
      if (this._sessionError(answer)) {
        const error = this._error(answer);
        this._endSession(error.code, true);
        throw error;
      }
    }
    if (!answer.response.ok) throw this._error(answer);
    return answer.body;
  }

  /** `POST /auth/register/`. @returns {Promise<{id: string, email_verification_required?: boolean}>} */
  register({ email, password, name }) {
    const body = { email, password };
    if (name !== undefined) body.name = name;
    return this.request("/auth/register/", { method: "POST", body, auth: false });
  }

  /**
   * `POST /auth/login/`. Resolves `{status: "ok", id}`, or `{status: "mfa_required", methods}`
   * when the account has a second factor: then call `verifyMfa({code})` ("totp",
   * "backup_code") or `verifyMfaPasskey()` ("passkey").
   */
  async login({ email, password }) {
    const body = await this.request("/auth/login/", {
      method: "POST", body: { email, password }, auth: false,
    });
    return firstFactorResult(body);
  }

  /**
   * `POST /auth/login/code/`: emails a 6-digit sign-in code, valid 10 minutes. Resolves the
   * same 202 body whether or not the address has an account; 429 when asked too often.
   */
  requestLoginCode({ email }) {
    return this.request("/auth/login/code/", { method: "POST", body: { email }, auth: false });
  }

  /**
   * `POST /auth/login/code/confirm/`: signs in with the emailed code, as `login` does:
   * `{status: "ok", id}`, or `{status: "mfa_required", methods}` (then `verifyMfa({code})`).
   * A wrong, expired or used code rejects with `invalid_code` (5 tries per code).
   */
  async loginWithCode({ email, code }) {
    const body = await this.request("/auth/login/code/confirm/", {
      method: "POST", body: { email, code }, auth: false,
    });
    return firstFactorResult(body);
  }

  /** `POST /auth/2fa/verify/`: the second step of a login. @returns {Promise<{status: "ok", id: string}>} */
  async verifyMfa({ code }) {
    const body = await this.request("/auth/2fa/verify/", { method: "POST", body: { code }, auth: false });
    return { status: "ok", id: body.id };
  }

  /**
   * `POST /auth/refresh/` now, under the cross-tab lock. Resolves `{id}`, or null when a
   * refresh already under way in this page covered it. A 401 ends the session.
   */
  refresh() {
    return this._refresh(Infinity);
  }

  /**
   * `POST /auth/logout/`. Idempotent; forgets the cached CSRF token whatever happens, and on
   * success emits `sessionend` with reason "logout" here and in the other tabs.
   */
  async logout() {
    try {
      const body = await this.request("/auth/logout/", { method: "POST", auth: false });
      this._endSession("logout", true);
      return body;
    } finally {
      this._csrfPromise = null;
    }
  }

  /** `POST /auth/logout-all/`: ends every session of the user; emits `sessionend` ("logout"). */
  async logoutAll() {
    try {
      const body = await this.request("/auth/logout-all/", { method: "POST" });
      this._endSession("logout", true);
      return body;
    } finally {
      this._csrfPromise = null;
    }
  }

  /** `GET /auth/self/`: the signed-in user's profile. */
  self() {
    return this.request("/auth/self/");
  }

  /** `PATCH /auth/self/`. */
  updateSelf({ name }) {
    return this.request("/auth/self/", { method: "PATCH", body: { name } });
  }

  /** `GET /auth/sessions/`: the user's sessions. */
  sessions() {
    return this.request("/auth/sessions/");
  }

  /** `DELETE /auth/sessions/<id>/`: that session ends at once. Resolves null (204). */
  revokeSession(id) {
    return this.request(`/auth/sessions/${encodeURIComponent(id)}/`, { method: "DELETE" });
  }

  /** `POST /auth/password/change/`: every other session ends. */
  changePassword({ currentPassword, newPassword }) {
    return this.request("/auth/password/change/", {
      method: "POST", body: { current_password: currentPassword, new_password: newPassword },
    });
  }

  /** `POST /auth/password/reset/`: 202 whether or not the address is known. */
  requestPasswordReset({ email }) {
    return this.request("/auth/password/reset/", { method: "POST", body: { email }, auth: false });
  }

  /** `POST /auth/password/reset/confirm/` with the `uid` and `token` from the email link. */
  confirmPasswordReset({ uid, token, newPassword }) {
    return this.request("/auth/password/reset/confirm/", {
      method: "POST", body: { uid, token, new_password: newPassword }, auth: false,
    });
  }

  /** `POST /auth/email/verify/` with the `key` from the email link. */
  verifyEmail({ key }) {
    return this.request("/auth/email/verify/", { method: "POST", body: { key }, auth: false });
  }

  /** `POST /auth/reauth/` with `{password}` (no 2FA) or `{code}` (2FA): step-up. */
  reauth(proof) {
    const body = proof && proof.code !== undefined ? { code: proof.code } : { password: proof && proof.password };
    return this.request("/auth/reauth/", { method: "POST", body });
  }

  // --- passkeys (WebAuthn) ---

  /**
   * Registers a passkey of the signed-in user: `POST /auth/passkeys/register/options/`
   * (needs a recent authentication: a 403 `reauth_required` is thrown, call `reauth()`),
   * `navigator.credentials.create()`, then `POST /auth/passkeys/register/`.
   * @returns {Promise<{id: string, name: string, created_at: string}>}
   */
  async registerPasskey({ name, signal } = {}) {
    const options = await this.request("/auth/passkeys/register/options/", { method: "POST" });
    const credential = await this._webauthn().create({ publicKey: creationOptionsFromJSON(options), signal });
    const body = { credential: credentialToJSON(credential) };
    if (name !== undefined) body.name = name;
    return this.request("/auth/passkeys/register/", { method: "POST", body });
  }

  /**
   * Signs in with a discoverable passkey (no email typed): the browser offers the passkeys
   * it holds for the site. `amr` is ["hwk" or "swk", "mfa"]: no second step follows.
   * @returns {Promise<{status: "ok", id: string}>}
   */
  async loginWithPasskey({ signal, mediation } = {}) {
    const options = await this.request("/auth/passkeys/login/options/", { method: "POST", auth: false });
    const get = { publicKey: requestOptionsFromJSON(options), signal };
    if (mediation) get.mediation = mediation;
    const credential = await this._webauthn().get(get);
    const body = await this.request("/auth/passkeys/login/", {
      method: "POST", body: { credential: credentialToJSON(credential) }, auth: false,
    });
    return { status: "ok", id: body.id };
  }

  /**
   * The second step of a login with a passkey, after `login()` resolved `mfa_required` with
   * "passkey" among the `methods`: `POST /auth/2fa/passkey/options/`, then
   * `POST /auth/2fa/passkey/`. @returns {Promise<{status: "ok", id: string}>}
   */
  async verifyMfaPasskey({ signal } = {}) {
    const options = await this.request("/auth/2fa/passkey/options/", { method: "POST", auth: false });
    const credential = await this._webauthn().get({ publicKey: requestOptionsFromJSON(options), signal });
    const body = await this.request("/auth/2fa/passkey/", {
      method: "POST", body: { credential: credentialToJSON(credential) }, auth: false,
    });
    return { status: "ok", id: body.id };
  }

  /**
   * Step-up with one of the user's passkeys (after a `403 reauth_required`):
   * `POST /auth/reauth/passkey/options/`, `get()`, `POST /auth/reauth/passkey/`. An
   * account whose second factor is a passkey must step up this way.
   * @returns {Promise<{auth_time: number}>}
   */
  async reauthWithPasskey({ signal } = {}) {
    const options = await this.request("/auth/reauth/passkey/options/", { method: "POST" });
    const credential = await this._webauthn().get({ publicKey: requestOptionsFromJSON(options), signal });
    return this.request("/auth/reauth/passkey/", {
      method: "POST", body: { credential: credentialToJSON(credential) },
    });
  }

  /** `GET /auth/passkeys/`: the user's passkeys, oldest first. */
  listPasskeys() {
    return this.request("/auth/passkeys/");
  }

  /** `PATCH /auth/passkeys/<id>/`. */
  renamePasskey(id, { name }) {
    return this.request(`/auth/passkeys/${encodeURIComponent(id)}/`, { method: "PATCH", body: { name } });
  }

  /** `DELETE /auth/passkeys/<id>/` (needs a recent authentication). Resolves null (204). */
  deletePasskey(id) {
    return this.request(`/auth/passkeys/${encodeURIComponent(id)}/`, { method: "DELETE" });
  }

  // --- internals ---

  _webauthn() {
    if (!this._credentials) throw new TypeError("AuthClient: WebAuthn (navigator.credentials) is not available");
    return this._credentials;
  }

  _url(path) {
    // A path on authsvc only: an absolute URL would carry the CSRF token and the browser's
    // credentials for authsvc to whatever host it names.
    if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//")) {
      throw new TypeError(`AuthClient: ${path} is not a path on authsvc`);
    }
    return this.baseUrl + (path.startsWith("/") ? path : `/${path}`);
  }

  async _send(path, method, body, extraHeaders, signal) {
    const unsafe = !SAFE_METHODS.has(method);
    for (let attempt = 0; ; attempt++) {
      const headers = { Accept: "application/json", ...extraHeaders };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      let csrf = null;
      if (unsafe) {
        csrf = this.csrf();
        headers["X-CSRFToken"] = await csrf;
      }
      const sentAt = Date.now(); // when the cookies it carries were taken from the jar
      const response = await this._fetch(this._url(path), {
        method, headers, credentials: "include", signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const parsed = await readJson(response);
      if (unsafe && attempt === 0 && response.status === 403 && parsed && parsed.error === "csrf_failed") {
        if (this._csrfPromise === csrf) this._csrfPromise = null; // refetch once, retry once
        continue;
      }
      return { response, body: parsed, sentAt };
    }
  }

  _error({ response, body }) {
    return new AuthError(response.status, body, parseRetryAfter(response.headers.get("Retry-After")));
  }

  _sessionError({ response, body }) {
    return response.status === 401 && !(body && CREDENTIAL_ERRORS.has(body.error));
  }

  // One refresh per page at a time (concurrent callers share it), and one per browser at a
  // time through the Web Lock. `sentAt` is when the failed request left: if any tab refreshed
  // since, the shared cookie jar already holds new cookies, so only the retry is needed.
  _refresh(sentAt) {
    if (!this._refreshing) {
      const run = async () => {
        if (this._refreshedAt() >= sentAt) return null;
        // A network failure propagates as it is: the session may be fine, so no sessionend.
        const answer = await this._send("/auth/refresh/", "POST");
        if (!answer.response.ok) {
          const error = this._error(answer);
          if (answer.response.status === 401) this._endSession(error.code, true);
          throw error;
        }
        this._markRefreshed(Date.now());
        return answer.body;
      };
      const promise = this._locks ? this._locks.request(this.lockName, run) : run();
      this._refreshing = promise;
      const clear = () => { if (this._refreshing === promise) this._refreshing = null; };
      promise.then(clear, clear);
    }
    return this._refreshing;
  }

  _refreshedAt() {
    let stored = 0;
    try { stored = Number(this._storage && this._storage.getItem(this._storageKey)) || 0; } catch { /* blocked */ }
    return Math.max(this._lastRefresh, stored);
  }

  _markRefreshed(at) {
    this._lastRefresh = Math.max(this._lastRefresh, at);
    try { if (this._storage) this._storage.setItem(this._storageKey, String(at)); } catch { /* blocked */ }
    this._post({ type: "refreshed", at });
  }

  _endSession(reason, broadcast) {
    if (broadcast) this._post({ type: "sessionend", reason });
    const detail = { reason };
    this.dispatchEvent(new CustomEvent("sessionend", { detail }));
    if (typeof this._onSessionEnd === "function") {
      try {
        this._onSessionEnd(detail);
      } catch (error) {
        if (typeof globalThis.reportError === "function") globalThis.reportError(error);
        else console.error(error);
      }
    }
  }

  _post(message) {
    try { if (this._channel) this._channel.postMessage(message); } catch { /* closed */ }
  }

  _receive(message) {
    if (!message || typeof message !== "object") return;
    if (message.type === "refreshed" && typeof message.at === "number") {
      this._lastRefresh = Math.max(this._lastRefresh, message.at);
    } else if (message.type === "sessionend" && typeof message.reason === "string") {
      this._csrfPromise = null;
      this._endSession(message.reason, false);
    }
  }
}
