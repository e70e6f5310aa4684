/**
 * Where the refresh token lives between page loads:
 * - "cookie": the server keeps it in an HttpOnly cookie (`REFRESH_COOKIE=true`);
 *   scripts never see it, the browser sends it to `/api/v1/auth/*`.
 * - "body": the client keeps it and sends it in the refresh request's body;
 *   the app persists it through `onRefreshToken` if it wants sessions to
 *   survive a reload.
 */
export type RefreshMode = "cookie" | "body";

/** The token fields of every answer that starts or continues a session. */
export interface TokenPair {
  token: string;
  refresh_token?: string;
}

/**
 * The result of one refresh call: the new pair, or the failed answer kept as
 * plain values so that every request waiting on the refresh can get a Response
 * of its own.
 */
export type RefreshOutcome =
  | { ok: true; pair: TokenPair }
  | { ok: false; status: number; headers: [string, string][]; body: unknown };

export interface SessionOptions {
  mode: RefreshMode;
  /** An access token kept from before (e.g. in sessionStorage), used until it is refused. */
  accessToken?: string | null;
  /** A refresh token the app persisted earlier (body mode). */
  refreshToken?: string | null;
  /**
   * Body mode: answers the newest persisted refresh token, read just before
   * each refresh; null or undefined means the one in memory. Needed when
   * several tabs share one stored token: it rotates on every refresh, so a
   * tab that read it once at load would later present a token another tab
   * already replaced, and the server takes that as theft and ends the session.
   */
  getRefreshToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Called with the new refresh token whenever it changes (sign-in, refresh,
   * password change) and with `null` when the session ends; body mode only.
   * A refresh token is rotated on every use, so persist each new one. If it
   * throws, the session goes on with the new token in memory (the server has
   * already rotated it) and the error goes to `reportError` (browsers: the
   * window's `error` event) or, where there is none, `console.error`.
   */
  onRefreshToken?: (refreshToken: string | null) => void | Promise<void>;
  /** Called once when the session ends (logout, or a refresh the server refused). */
  onSessionEnd?: () => void;
  /** Sends the refresh request itself; never called twice at the same time. */
  refresh: (refreshToken: string | null) => Promise<RefreshOutcome>;
  /** The fetch that reaches the network. */
  fetch: (request: Request) => Promise<Response>;
}

/**
 * Session keeps the access token in memory, adds it to requests, and on a
 * `401` refreshes once and retries the request once. However many requests
 * get a `401` together, one refresh is in flight; the others wait for it.
 */
export class Session {
  #access: string | null = null;
  #refresh: string | null;
  #inflight: Promise<RefreshOutcome> | null = null;
  /** Changes when a session starts or ends: a refresh answer for an earlier one is dropped. */
  #generation = 0;
  /**
   * Cookie mode: the session ended (logout, or a refresh was refused), so a
   * `401` means "signed out" and is not worth a refresh until the next sign-in.
   */
  #ended = false;
  readonly #opts: SessionOptions;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.#access = opts.accessToken ?? null;
    this.#refresh = opts.mode === "body" ? (opts.refreshToken ?? null) : null;
  }

  get mode(): RefreshMode {
    return this.#opts.mode;
  }

  /** The access token in memory, or null before sign-in and after logout. */
  get accessToken(): string | null {
    return this.#access;
  }

  /** The refresh token in memory (body mode only; always null in cookie mode). */
  get refreshToken(): string | null {
    return this.#refresh;
  }

  /**
   * canRefresh tells whether a `401` is worth a refresh. In cookie mode the
   * client cannot see the cookie, so it tries unless the session ended; in
   * body mode it needs a token, in memory or from `getRefreshToken`.
   */
  get canRefresh(): boolean {
    if (this.#opts.mode === "cookie") return !this.#ended;
    return this.#refresh !== null || this.#opts.getRefreshToken !== undefined;
  }

  /** currentRefreshToken is the token a refresh or logout presents (body mode). */
  async currentRefreshToken(): Promise<string | null> {
    if (this.#opts.mode !== "body") return null;
    return (await this.#opts.getRefreshToken?.()) || this.#refresh;
  }

  /** start keeps the pair of a sign-in (or a password change): a new session. */
  async start(pair: TokenPair): Promise<void> {
    this.#generation++;
    await this.#keep(pair);
  }

  async #keep(pair: TokenPair): Promise<void> {
    this.#access = pair.token;
    this.#ended = false;
    if (this.#opts.mode === "body" && pair.refresh_token && pair.refresh_token !== this.#refresh) {
      this.#refresh = pair.refresh_token;
      await this.#persist(this.#refresh);
    }
  }

  /** end forgets the session locally (the server side is the caller's business). */
  async end(): Promise<void> {
    this.#generation++;
    this.#ended = true;
    const had = this.#access !== null || this.#refresh !== null;
    this.#access = null;
    if (this.#refresh !== null) {
      this.#refresh = null;
      await this.#persist(null);
    }
    if (had) this.#opts.onSessionEnd?.();
  }

  async #persist(token: string | null): Promise<void> {
    try {
      await this.#opts.onRefreshToken?.(token);
    } catch (err) {
      // The pair is already the server's: failing here would fail requests
      // that can succeed. The app still has to hear of it.
      if (typeof reportError === "function") reportError(err);
      else console.error("accounts-client: onRefreshToken failed:", err);
    }
  }

  /**
   * refresh rotates the pair; concurrent callers share one request. A refused
   * refresh ends the session: `401` (the session ended) or another client
   * error such as `400` (no refresh token reached the server: in cookie mode,
   * no cookie). `429` and server errors leave it as it is.
   */
  refresh(): Promise<RefreshOutcome> {
    if (this.#inflight === null) {
      this.#inflight = this.#runRefresh().finally(() => {
        this.#inflight = null;
      });
    }
    return this.#inflight;
  }

  async #runRefresh(): Promise<RefreshOutcome> {
    const generation = this.#generation;
    const token = await this.currentRefreshToken();
    if (this.#opts.mode === "body" && token === null) return NO_SESSION;
    const outcome = await this.#opts.refresh(token);
    // A logout or sign-in while the refresh was on its way: the answer is of
    // a session this client no longer has, and must not bring it back.
    if (generation !== this.#generation) return NO_SESSION;
    if (outcome.ok) {
      await this.#keep(outcome.pair);
    } else if (refused(outcome.status)) {
      await this.end();
    }
    return outcome;
  }

  /**
   * fetch is the fetch given to openapi-fetch: it adds the access token and
   * handles a `401` by one refresh and one retry. A request that already has
   * an Authorization header is sent as it is.
   */
  fetch = async (request: Request): Promise<Response> => {
    const send = this.#opts.fetch;
    if (request.headers.has("Authorization")) {
      return send(request);
    }
    // A body can be read once: keep a copy for the retry.
    const retry = request.clone();
    const sentWith = this.#access;
    if (sentWith !== null) request.headers.set("Authorization", `Bearer ${sentWith}`);
    const first = await send(request);
    if (first.status !== 401 || !this.canRefresh) return first;

    // Another request may have refreshed while this one was on the way: then
    // the token it was sent with is already replaced, and no refresh is needed.
    if (this.#access === null || this.#access === sentWith) {
      const outcome = await this.refresh();
      if (outcome === NO_SESSION) {
        // Nothing to refresh, or the session changed meanwhile: retry only
        // if a sign-in brought a new access token.
        if (this.#access === null || this.#access === sentWith) return first;
      } else if (!outcome.ok) {
        // With no session at all (refresh 400: nothing to refresh), the
        // request's own 401 says it best.
        if (refused(outcome.status) && outcome.status !== 401) return first;
        // The session ended (401), or the refresh failed for a passing reason
        // (503, 429): answer with what the refresh got, so the caller sees why.
        await discard(first);
        const headers = new Headers(outcome.headers);
        let body: string | null = null;
        if (outcome.body !== undefined) {
          body = JSON.stringify(outcome.body);
          headers.set("Content-Type", "application/json");
        }
        return new Response(body, { status: outcome.status, headers });
      }
    }
    await discard(first);
    if (this.#access !== null) retry.headers.set("Authorization", `Bearer ${this.#access}`);
    return send(retry);
  };
}

/**
 * NO_SESSION is a refresh's outcome when there is no session to continue: no
 * token to send, or the session ended or was replaced while it was on its way.
 */
const NO_SESSION: RefreshOutcome = Object.freeze({ ok: false, status: 401, headers: [], body: undefined });

/** refused tells a refresh answer that means there is no session to continue. */
function refused(status: number): boolean {
  return status >= 400 && status < 500 && status !== 429;
}

async function discard(response: Response): Promise<void> {
  // Reading nothing of a body would keep its connection busy until collected.
  try {
    await response.body?.cancel();
  } catch {
    // already consumed or errored: nothing to free
  }
}
