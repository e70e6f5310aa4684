import { setTimeout as sleep } from "node:timers/promises";

/** A request as the fake API saw it. */
export interface Seen {
  method: string;
  path: string;
  authorization: string | null;
  credentials: RequestCredentials;
  body: unknown;
}

/**
 * FakeApi answers like the accounts API for the few routes the session logic
 * touches, with tokens it can expire at will, and records every request.
 */
export class FakeApi {
  readonly seen: Seen[] = [];
  /** Access tokens that are currently accepted. */
  readonly live = new Set<string>();
  /** Refresh token → still usable. */
  readonly refreshTokens = new Set<string>();
  /** What the refresh route answers instead of rotating, when set. */
  refreshFailure: { status: number; body: unknown; headers?: Record<string, string> } | null = null;
  /** Thrown by the refresh route instead of answering (a network failure), when set. */
  refreshThrows: Error | null = null;
  /** Delay of every answer, so that concurrent requests overlap. */
  delayMs = 5;
  #n = 0;

  /** signIn issues a pair as a verify step would. */
  issue(): { token: string; refresh_token: string } {
    this.#n++;
    const pair = { token: `access-${this.#n}`, refresh_token: `refresh-${this.#n}` };
    this.live.add(pair.token);
    this.refreshTokens.add(pair.refresh_token);
    return pair;
  }

  /** expireAccess makes every access token answer 401, as after TOKEN_TTL. */
  expireAccess(): void {
    this.live.clear();
  }

  count(path: string): number {
    return this.seen.filter((s) => s.path === path).length;
  }

  fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const text = await request.text();
    const body = text ? JSON.parse(text) : undefined;
    const authorization = request.headers.get("Authorization");
    this.seen.push({ method: request.method, path, authorization, credentials: request.credentials, body });
    await sleep(this.delayMs);

    const bearer = authorization?.replace(/^Bearer /, "") ?? "";
    const authed = this.live.has(bearer);
    const user = { id: "u1", email: "a@example.com" };
    switch (`${request.method} ${path}`) {
      case "POST /auth/login/verify":
        if (body?.code !== "123456") return error(400, "invalid_code", "the code is wrong or has expired");
        return json(200, { ...this.issue(), token_type: "Bearer", expires_in: 900, refresh_expires_in: 3600, user });
      case "POST /auth/register":
        return error(400, "validation_failed", "the request is invalid", {
          fields: { email: "must be a valid email address" },
        });
      case "POST /auth/login":
        return error(429, "rate_limited", "too many requests", { headers: { "Retry-After": "42" } });
      case "POST /auth/password/forgot":
        return new Response("<html>bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } });
      case "POST /auth/token/refresh": {
        if (this.refreshThrows) throw this.refreshThrows;
        if (this.refreshFailure) {
          const f = this.refreshFailure;
          return new Response(JSON.stringify(f.body), {
            status: f.status,
            headers: { "Content-Type": "application/json", ...f.headers },
          });
        }
        // Cookie mode: the browser would send the cookie; the fake takes the newest token.
        const presented: string | undefined = body?.refresh_token ?? [...this.refreshTokens].at(-1);
        if (!presented || !this.refreshTokens.has(presented)) {
          return error(401, "session_revoked", "the session has ended");
        }
        this.refreshTokens.delete(presented);
        return json(200, { ...this.issue(), token_type: "Bearer", expires_in: 900, refresh_expires_in: 3600, user });
      }
      case "POST /auth/logout":
        if (!authed) return error(401, "unauthorized", "missing or invalid token");
        this.live.delete(bearer);
        return json(200, { message: "signed out" });
      case "GET /users/me":
        if (!authed) return error(401, "unauthorized", "missing or invalid token");
        return json(200, { user: { ...user, products: [], products_total: 0 } });
      case "POST /products":
        if (!authed) return error(401, "unauthorized", "missing or invalid token");
        return json(201, { product: { id: "p1", ...body } });
      default:
        return error(404, "not_found", "not found");
    }
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

function error(
  status: number,
  code: string,
  message: string,
  extra: { fields?: Record<string, string>; headers?: Record<string, string> } = {},
): Response {
  return json(status, { error: { code, message, ...(extra.fields ? { fields: extra.fields } : {}) } }, extra.headers);
}
