import createClient, { type Client } from "openapi-fetch";

import { ApiError } from "./errors.js";
import type { paths } from "./schema.js";
import { Session, type RefreshMode, type RefreshOutcome } from "./session.js";

type JSONBody<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;
type JSONOk<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer R } } };
}
  ? R
  : never;

export type RegisterInput = JSONBody<"/auth/register", "post">;
export type LoginInput = JSONBody<"/auth/login", "post">;
export type VerifyCodeInput = JSONBody<"/auth/login/verify", "post">;
export type ForgotPasswordInput = JSONBody<"/auth/password/forgot", "post">;
export type ResetPasswordInput = JSONBody<"/auth/password/reset", "post">;
export type ResendCodeInput = JSONBody<"/auth/code/resend", "post">;
export type ChangePasswordInput = JSONBody<"/users/me/password", "put">;
/** The answer of a step that mailed a code: `expires_in` is the code's lifetime in seconds. */
export type CodeSent = JSONOk<"/auth/login", "post">;
/** The answer of every step that signs in: the token pair and the user. */
export type TokenBody = JSONOk<"/auth/login/verify", "post">;
/**
 * What the sign-in steps resolve to: the token body, without `refresh_token`
 * in cookie mode. There the browser keeps the token in its HttpOnly cookie,
 * and handing it to page scripts anyway would undo that.
 */
export type SignedIn = Omit<TokenBody, "refresh_token"> & { refresh_token?: TokenBody["refresh_token"] };
export type User = TokenBody["user"];
export type Me = JSONOk<"/users/me", "get">["user"];
export type SessionInfo = JSONOk<"/users/me/sessions", "get">["items"][number];
export type LogoutScope = NonNullable<JSONBody<"/auth/logout", "post">>["scope"] & string;

export interface AccountsClientOptions {
  /** The API's base URL, e.g. `https://accounts.example.com/api/v1` (or `/api/v1` on the same host). */
  baseUrl: string;
  /**
   * `"cookie"` when the server runs with `REFRESH_COOKIE=true` (the browser
   * keeps the refresh token in an HttpOnly cookie; requests use
   * `credentials: "include"`), `"body"` otherwise (default).
   */
  refreshMode?: RefreshMode;
  /** An access token kept from before (e.g. in sessionStorage), used until the API refuses it. */
  accessToken?: string | null;
  /** Body mode: a refresh token persisted earlier, to continue its session. */
  refreshToken?: string | null;
  /**
   * Body mode: the persisted refresh token, read just before each refresh
   * (null or undefined: the one in memory). Give it when tabs share a stored
   * token, e.g. `() => localStorage.getItem("refresh_token")`: a token read
   * once at load goes stale when another tab refreshes, and presenting a
   * replaced token ends the session everywhere.
   */
  getRefreshToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Body mode: called with each new refresh token (they rotate on every
   * refresh) and with `null` when the session ends. Persist it here if the
   * session should survive a reload. If it throws, the client keeps going
   * with the new token and reports the error with `reportError` (or
   * `console.error` where there is none).
   */
  onRefreshToken?: (refreshToken: string | null) => void | Promise<void>;
  /** Called when the session ends: logout, or the server refused a refresh. */
  onSessionEnd?: () => void;
  /** Headers sent with every request, e.g. `{"Accept-Language": "uz"}`. */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

/**
 * AccountsClient wraps the API's flows as named functions that resolve to the
 * typed answer or reject with an {@link ApiError}. Every other route is
 * reachable, typed, through {@link AccountsClient.api}, with the same session
 * handling.
 */
export class AccountsClient {
  /**
   * The typed openapi-fetch client: `api.GET("/products", {params: {query: {page: 2}}})`.
   * It adds the access token and refreshes on `401` like the named functions;
   * pass its result to {@link unwrap} to get the data or an ApiError thrown.
   */
  readonly api: Client<paths>;
  readonly #session: Session;
  readonly #raw: Client<paths>;

  constructor(opts: AccountsClientOptions) {
    const baseFetch = opts.fetch ?? ((request: Request) => globalThis.fetch(request));
    const mode = opts.refreshMode ?? "body";
    const common = {
      baseUrl: opts.baseUrl,
      headers: opts.headers,
      // Cross-origin requests carry the refresh cookie only with "include".
      ...(mode === "cookie" ? { credentials: "include" as const } : {}),
    };
    // The raw client sends refresh requests: no token, no retry on 401.
    this.#raw = createClient<paths>({ ...common, fetch: baseFetch });
    this.#session = new Session({
      mode,
      accessToken: opts.accessToken,
      refreshToken: opts.refreshToken,
      getRefreshToken: opts.getRefreshToken,
      onRefreshToken: opts.onRefreshToken,
      onSessionEnd: opts.onSessionEnd,
      fetch: baseFetch,
      refresh: (token) => this.#sendRefresh(token),
    });
    this.api = createClient<paths>({ ...common, fetch: this.#session.fetch });
  }

  /** The access token in memory (null when signed out). */
  get accessToken(): string | null {
    return this.#session.accessToken;
  }

  /** The refresh token in memory (body mode only). */
  get refreshToken(): string | null {
    return this.#session.refreshToken;
  }

  /** Whether an access token is in memory. */
  get signedIn(): boolean {
    return this.#session.accessToken !== null;
  }

  // ---- sign-up ----

  /** Step 1 of sign-up: checks the details and mails a `register` code. */
  register(input: RegisterInput): Promise<CodeSent> {
    return unwrap(this.api.POST("/auth/register", { body: input }));
  }

  /** Step 2 of sign-up: creates the account from the code and signs in. */
  verifyRegistration(input: VerifyCodeInput): Promise<SignedIn> {
    return this.#signIn(this.api.POST("/auth/register/verify", { body: input }));
  }

  // ---- sign-in ----

  /** Step 1 of sign-in: checks email and password and mails a `login` code. */
  login(input: LoginInput): Promise<CodeSent> {
    return unwrap(this.api.POST("/auth/login", { body: input }));
  }

  /** Step 2 of sign-in: checks the code and signs in. */
  verifyLogin(input: VerifyCodeInput): Promise<SignedIn> {
    return this.#signIn(this.api.POST("/auth/login/verify", { body: input }));
  }

  /** Mails a fresh code for a pending flow (a lost or expired mail). */
  resendCode(input: ResendCodeInput): Promise<JSONOk<"/auth/code/resend", "post">> {
    return unwrap(this.api.POST("/auth/code/resend", { body: input }));
  }

  // ---- password reset ----

  /** Step 1 of a reset: mails a `password` code if the account exists (the answer never tells). */
  forgotPassword(input: ForgotPasswordInput): Promise<JSONOk<"/auth/password/forgot", "post">> {
    return unwrap(this.api.POST("/auth/password/forgot", { body: input }));
  }

  /** Step 2 of a reset: checks the code without using it up, so the UI can ask for the new password. */
  verifyPasswordCode(input: VerifyCodeInput): Promise<JSONOk<"/auth/password/verify", "post">> {
    return unwrap(this.api.POST("/auth/password/verify", { body: input }));
  }

  /** Step 3 of a reset: sets the new password; every session of the account ends, this one too. */
  async resetPassword(input: ResetPasswordInput): Promise<JSONOk<"/auth/password/reset", "post">> {
    const out = await unwrap(this.api.POST("/auth/password/reset", { body: input }));
    await this.#session.end();
    return out;
  }

  // ---- the signed-in user ----

  /** The signed-in user with their newest products. */
  async me(): Promise<Me> {
    return (await unwrap(this.api.GET("/users/me"))).user;
  }

  /** Changes the password: this session continues with a fresh pair, every other one ends. */
  changePassword(input: ChangePasswordInput): Promise<SignedIn> {
    return this.#signIn(this.api.PUT("/users/me/password", { body: input }));
  }

  // ---- session ----

  /** The user's sessions (devices), newest first; `current` marks this one. */
  async sessions(): Promise<SessionInfo[]> {
    return (await unwrap(this.api.GET("/users/me/sessions"))).items;
  }

  /** Ends one of the user's sessions, e.g. a lost device's. */
  async endSession(id: string): Promise<void> {
    await unwrap(this.api.DELETE("/users/me/sessions/{id}", { params: { path: { id } } }));
  }

  /**
   * Rotates the token pair now. Not needed in normal use: requests refresh by
   * themselves on `401`. Shares the refresh already in flight, if any.
   */
  async refresh(): Promise<void> {
    const outcome = await this.#session.refresh();
    if (!outcome.ok) {
      throw ApiError.from(outcome.status, new Headers(outcome.headers), outcome.body);
    }
  }

  /**
   * Ends this session (`"local"`, the default), every other one (`"others"`)
   * or all of them (`"global"`). The local state is cleared for `"local"` and
   * `"global"` even when the server already considered the session dead.
   */
  async logout(scope: LogoutScope = "local"): Promise<void> {
    try {
      // Body mode names the session by its refresh token too, so that a
      // page holding no access token can still end it.
      const refreshToken = await this.#session.currentRefreshToken();
      const body = refreshToken !== null ? { scope, refresh_token: refreshToken } : { scope };
      await unwrap(this.api.POST("/auth/logout", { body }));
    } catch (err) {
      if (scope === "others" || !(err instanceof ApiError) || err.status !== 401) throw err;
    }
    if (scope !== "others") await this.#session.end();
  }

  async #signIn(call: Promise<{ data?: TokenBody; error?: unknown; response: Response }>): Promise<SignedIn> {
    const body = await unwrap(call);
    await this.#session.start(body);
    return this.#forPage(body);
  }

  /** forPage drops the refresh token in cookie mode (see {@link SignedIn}). */
  #forPage<T extends { refresh_token?: string }>(body: T): Omit<T, "refresh_token"> & { refresh_token?: string } {
    if (this.#session.mode === "body") return body;
    const { refresh_token: _, ...rest } = body;
    return rest;
  }

  async #sendRefresh(refreshToken: string | null): Promise<RefreshOutcome> {
    // Cookie mode sends no token: the server reads the HttpOnly cookie.
    const body = refreshToken !== null ? { refresh_token: refreshToken } : {};
    const { data, error, response } = await this.#raw.POST("/auth/token/refresh", { body });
    if (response.ok && data !== undefined) {
      return { ok: true, pair: this.#forPage(data) };
    }
    return { ok: false, status: response.status, headers: keptHeaders(response.headers), body: error };
  }
}

/** createAccountsClient is `new AccountsClient(opts)`. */
export function createAccountsClient(opts: AccountsClientOptions): AccountsClient {
  return new AccountsClient(opts);
}

/**
 * unwrap turns an openapi-fetch result into its data, or throws the answer as
 * an {@link ApiError}.
 */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    throw ApiError.from(response.status, response.headers, error);
  }
  return data as T;
}

function keptHeaders(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  const retryAfter = headers.get("Retry-After");
  if (retryAfter !== null) out.push(["Retry-After", retryAfter]);
  return out;
}
