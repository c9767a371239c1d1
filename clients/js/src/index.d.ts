// Type declarations for @authsvc/client (src/index.js).

/** authsvc's error body: `{"error", "detail", "fields"?}`. */
export interface ErrorBody {
  error: string;
  detail: string;
  fields?: Record<string, string[]>;
}

/** An error answer from authsvc. Network failures are not wrapped: fetch's own error propagates. */
export declare class AuthError extends Error {
  constructor(status: number, body: Partial<ErrorBody> | null, retryAfter?: number);
  readonly name: "AuthError";
  /** HTTP status code. */
  status: number;
  /** authsvc's error code (the body's `error`), or "http_error" when the body had none. */
  code: string;
  /** The human sentence authsvc sent (or "HTTP <status>"). */
  detail: string;
  /** Validation errors by field name, when authsvc sent them. */
  fields: Record<string, string[]> | undefined;
  /** Seconds to wait, from the Retry-After header (429, 503), when present. */
  retryAfter: number | undefined;
}

/** The part of the Web Locks API the client uses (`navigator.locks`). */
export interface LockManagerLike {
  request<T>(name: string, callback: (lock: unknown) => T | Promise<T>): Promise<T>;
}

/** The part of Web Storage the client uses (`localStorage`). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** The part of BroadcastChannel the client uses. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  close?(): void;
}

export interface SessionEndDetail {
  /** "logout" after logout() / logoutAll() (here or in another tab), else authsvc's error code. */
  reason: string;
}

/** The part of `navigator.credentials` the passkey methods use. */
export interface CredentialsContainerLike {
  create(options: { publicKey: unknown; signal?: AbortSignal }): Promise<unknown>;
  get(options: { publicKey: unknown; signal?: AbortSignal; mediation?: string }): Promise<unknown>;
}

/** A passkey in `GET /auth/passkeys/`. */
export interface Passkey {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface PasskeyCreated {
  id: string;
  name: string;
  created_at: string;
}

export interface AuthClientOptions {
  /** authsvc's origin, e.g. "https://auth.example.com". Default "": the page's own origin. */
  baseUrl?: string;
  /** Default: globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  /** Default: navigator.locks when present. null: in-page single flight only. */
  locks?: LockManagerLike | null;
  /** Default: localStorage when present. Holds the "last refreshed at" marker. null: none. */
  storage?: StorageLike | null;
  /** Default: a BroadcastChannel named after baseUrl, when present. null: none. */
  channel?: BroadcastChannelLike | null;
  /** Default: navigator.credentials (WebAuthn), for the passkey methods. null: none. */
  credentials?: CredentialsContainerLike | null;
  /** Web Lock name. Default: "authsvc-refresh <baseUrl or page origin>". */
  lockName?: string;
  /** Called (after the `sessionend` event) whenever the session ends. */
  onSessionEnd?: (detail: SessionEndDetail) => void;
}

export interface RequestOptions {
  /** Default "GET". Unsafe methods carry X-CSRFToken. */
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Default true: a 401 refreshes once and retries once; false for calls that need no session. */
  auth?: boolean;
  signal?: AbortSignal;
}

export type LoginResult =
  | { status: "ok"; id: string }
  | { status: "mfa_required"; methods: string[] };

export interface Profile {
  id: string;
  email: string;
  name: string;
  roles: string[];
  email_verified: boolean;
  mfa_enabled: boolean;
  date_joined: string;
}

export interface Session {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string;
  device: string;
  kind?: string;
  current: boolean;
}

export interface RegisterResult {
  id: string;
  email_verification_required?: boolean;
}

export interface DetailBody {
  detail: string;
  [key: string]: unknown;
}

export interface AuthClientEventMap {
  sessionend: CustomEvent<SessionEndDetail>;
}

export declare class AuthClient extends EventTarget {
  constructor(options?: AuthClientOptions);
  /** authsvc's origin without trailing slashes ("" = same origin). */
  readonly baseUrl: string;
  /** The Web Lock taken around every refresh. */
  readonly lockName: string;

  /** The CSRF token from GET /auth/csrf/, fetched once and cached. */
  csrf(): Promise<string>;
  /** Any authsvc call; resolves the parsed JSON body (null when empty), or throws AuthError. */
  request<T = any>(path: string, options?: RequestOptions): Promise<T>;

  register(input: { email: string; password: string; name?: string }): Promise<RegisterResult>;
  login(input: { email: string; password: string }): Promise<LoginResult>;
  /** `POST /auth/login/code/`: a 6-digit code valid 10 minutes goes to the address (202 whether or not it has an account). */
  requestLoginCode(input: { email: string }): Promise<DetailBody>;
  /** `POST /auth/login/code/confirm/`: signs in like `login` (or the 2FA step); `invalid_code` after a wrong, expired or used code. */
  loginWithCode(input: { email: string; code: string }): Promise<LoginResult>;
  verifyMfa(input: { code: string }): Promise<{ status: "ok"; id: string }>;
  /** Refreshes now (under the lock); null when it joined a refresh that another call found unnecessary. */
  refresh(): Promise<{ id: string } | null>;
  logout(): Promise<DetailBody>;
  logoutAll(): Promise<DetailBody & { revoked?: number }>;
  self(): Promise<Profile>;
  updateSelf(input: { name: string }): Promise<Profile>;
  sessions(): Promise<Session[]>;
  revokeSession(id: string): Promise<null>;
  changePassword(input: { currentPassword: string; newPassword: string }): Promise<DetailBody>;
  requestPasswordReset(input: { email: string }): Promise<DetailBody>;
  confirmPasswordReset(input: { uid: string; token: string; newPassword: string }): Promise<DetailBody>;
  verifyEmail(input: { key: string }): Promise<DetailBody>;
  reauth(proof: { password: string } | { code: string }): Promise<{ auth_time: number }>;
  /** Registers a passkey (needs a recent authentication: AuthError `reauth_required` otherwise). */
  registerPasskey(input?: { name?: string; signal?: AbortSignal }): Promise<PasskeyCreated>;
  /** Signs in with a discoverable passkey; the session's `amr` is ["hwk" | "swk", "mfa"]. */
  loginWithPasskey(input?: { signal?: AbortSignal; mediation?: CredentialMediationRequirement }): Promise<{ status: "ok"; id: string }>;
  /** The second step of a login with a passkey (`methods` included "passkey"). */
  verifyMfaPasskey(input?: { signal?: AbortSignal }): Promise<{ status: "ok"; id: string }>;
  /** Step-up with a passkey (an account whose second factor is a passkey must). */
  reauthWithPasskey(input?: { signal?: AbortSignal }): Promise<{ auth_time: number }>;
  listPasskeys(): Promise<Passkey[]>;
  renamePasskey(id: string, input: { name: string }): Promise<Passkey>;
  /** Needs a recent authentication. Resolves null (204). */
  deletePasskey(id: string): Promise<null>;
  /** Stops listening to other tabs. */
  close(): void;

  addEventListener<K extends keyof AuthClientEventMap>(
    type: K,
    listener: (this: AuthClient, event: AuthClientEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof AuthClientEventMap>(
    type: K,
    listener: (this: AuthClient, event: AuthClientEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
