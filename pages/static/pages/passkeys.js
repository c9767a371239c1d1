// Passkeys on the service's own pages (/login/, /login/2fa/, /account/, and
// /account/reauth/ for an account with a passkey): the one script
// they load, same-origin (CSP `script-src 'self'`), no inline code. It calls the JSON API
// the pages' forms do not reach: WebAuthn runs in the browser. Everything else on these
// pages works without it; the passkey controls stay hidden until this finds WebAuthn.
// The sentences it shows come translated from the page, in `data-msg-*` attributes.

const supported = typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

function bytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function base64url(buffer) {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function creationOptions(json) {
  return {
    ...json,
    challenge: bytes(json.challenge),
    user: { ...json.user, id: bytes(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })),
  };
}

function requestOptions(json) {
  return {
    ...json,
    challenge: bytes(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })),
  };
}

// PublicKeyCredential.toJSON() where the browser has it, else the same shape by hand.
function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: base64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = base64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = base64url(r.authenticatorData);
    response.signature = base64url(r.signature);
    response.userHandle = r.userHandle ? base64url(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: base64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment || null,
  };
}

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, data };
}

function say(box, key) {
  const out = box.querySelector("[data-passkey-error]");
  if (!out) return;
  out.textContent = box.dataset[key] || box.dataset.msgFailed || "";
  out.hidden = false;
}

function refusal(box, answer) {
  const code = answer && answer.data && answer.data.error;
  if (code === "rate_limited") return say(box, "msgLimited");
  if (code === "account_disabled") return say(box, "msgDisabled");
  if (code === "mfa_challenge_expired") return say(box, "msgExpired");
  return say(box, "msgFailed");
}

// Load `url`, even when it is this page with another #fragment (which alone would not
// reload it, and the page must show what changed).
function go(url) {
  const target = new URL(url, window.location.href);
  const here = window.location;
  if (target.pathname === here.pathname && target.search === here.search) {
    here.hash = target.hash;
    here.reload();
  } else {
    here.assign(target.href);
  }
}

// Sign in (/login/: a discoverable passkey) or finish a login (/login/2fa/: the account's).
async function authenticate(box, optionsPath, answerPath) {
  const options = await post(optionsPath);
  if (options.status !== 200) return refusal(box, options);
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey: requestOptions(options.data) });
  } catch {
    return say(box, "msgCancelled");
  }
  const answer = await post(answerPath, { credential: credentialJSON(credential) });
  if (answer.status === 200) {
    go(box.dataset.next || "/account/");
    return undefined;
  }
  return refusal(box, answer);
}

async function register(form) {
  const options = await post("/auth/passkeys/register/options/");
  if (options.status === 403 && options.data && options.data.error === "reauth_required") {
    window.location.assign(form.dataset.reauth);
    return undefined;
  }
  if (options.status !== 200) return refusal(form, options);
  let credential;
  try {
    credential = await navigator.credentials.create({ publicKey: creationOptions(options.data) });
  } catch {
    return say(form, "msgCancelled");
  }
  const body = { credential: credentialJSON(credential) };
  const name = form.elements.name.value.trim();
  if (name) body.name = name;
  const answer = await post("/auth/passkeys/register/", body);
  if (answer.status === 201) {
    go(form.dataset.done || "/account/");
    return undefined;
  }
  return refusal(form, answer);
}

function busy(control, work) {
  return async (event) => {
    event.preventDefault();
    if (control.disabled) return;
    control.disabled = true;
    try {
      await work();
    } finally {
      control.disabled = false;
    }
  };
}

if (supported) {
  // Which ceremony each kind of box runs: [options, answer].
  const ceremonies = {
    "data-passkey-login": ["/auth/passkeys/login/options/", "/auth/passkeys/login/"],
    "data-passkey-2fa": ["/auth/2fa/passkey/options/", "/auth/2fa/passkey/"],
    "data-passkey-reauth": ["/auth/reauth/passkey/options/", "/auth/reauth/passkey/"],
  };
  for (const [attribute, [optionsPath, answerPath]] of Object.entries(ceremonies)) {
    for (const box of document.querySelectorAll(`[${attribute}]`)) {
      const button = box.querySelector("button");
      button.addEventListener("click", busy(button, () => authenticate(box, optionsPath, answerPath)));
      box.hidden = false;
    }
  }
  for (const form of document.querySelectorAll("[data-passkey-register]")) {
    const button = form.querySelector("button");
    form.addEventListener("submit", busy(button, () => register(form)));
    form.hidden = false;
  }
  for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = true;
}
