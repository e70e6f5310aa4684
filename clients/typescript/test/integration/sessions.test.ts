// Refresh, logout and the cookie mode against the real server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { ApiError, createAccountsClient, unwrap, type AccountsClient, type AccountsClientOptions } from "../../src/index.js";
import { browserFetch } from "./cookie-jar.js";
import { ApiServer, uniqueEmail } from "./server.js";

/** counting wraps fetch and records each request's path and answer status. */
function counting() {
  const seen: { method: string; path: string; status: number }[] = [];
  const fetch = async (request: Request) => {
    const method = request.method;
    const path = new URL(request.url).pathname.replace(/^\/api\/v1/, "");
    const response = await globalThis.fetch(request);
    seen.push({ method, path, status: response.status });
    return response;
  };
  const count = (path: string, status?: number) =>
    seen.filter((s) => s.path === path && (status === undefined || s.status === status)).length;
  return { fetch, seen, count };
}

async function signUp(server: ApiServer, client: AccountsClient, email: string) {
  const mark = server.mark();
  await client.register({ first_name: "Ali", last_name: "Valiyev", email, password: "correct horse" });
  return client.verifyRegistration({ email, code: await server.code(email, mark) });
}

async function signIn(server: ApiServer, client: AccountsClient, email: string) {
  const mark = server.mark();
  await client.login({ email, password: "correct horse" });
  return client.verifyLogin({ email, code: await server.code(email, mark) });
}

describe("sessions, refresh token in the body", () => {
  let server: ApiServer;
  before(async () => {
    // Several sign-ins of one email follow each other: no cooldown between
    // their mails. A short reuse grace lets a test present a replaced refresh
    // token after it, as a tab would that had read its token long before.
    server = await ApiServer.start({ env: { CODE_RESEND_COOLDOWN: "0s", REFRESH_REUSE_GRACE: "1s" } });
  });
  after(async () => {
    await server?.stop();
  });
  const client = (opts: Partial<AccountsClientOptions> = {}) => createAccountsClient({ baseUrl: server.baseUrl, ...opts });

  it("register → verify → me → product → refresh → logout", async () => {
    const persisted: (string | null)[] = [];
    const c = client({ onRefreshToken: (t) => void persisted.push(t) });
    const email = uniqueEmail("session");
    const body = await signUp(server, c, email);
    assert.ok(body.refresh_token);
    assert.ok(body.refresh_expires_in > 0);
    assert.deepEqual(persisted, [body.refresh_token]);

    assert.equal((await c.me()).email, email);
    await unwrap(c.api.POST("/products", { body: { name: "Green tea", price: 15000 } }));

    const before = c.refreshToken;
    await c.refresh();
    // The refresh token rotates (the access token may come out the same
    // within one second: its claims are the session's and whole seconds).
    assert.ok(c.refreshToken);
    assert.notEqual(c.refreshToken, before);
    assert.deepEqual(persisted, [body.refresh_token, c.refreshToken]);
    assert.equal((await c.me()).products_total, 1);

    const last = c.refreshToken;
    await c.logout();
    assert.equal(c.accessToken, null);
    assert.equal(c.refreshToken, null);
    assert.equal(persisted.at(-1), null);
    await assert.rejects(c.me(), { status: 401 });
    // The ended session's refresh token is refused.
    await assert.rejects(client({ refreshToken: last }).refresh(), { status: 401, code: "session_revoked" });
  });

  it("five requests with an expired token: one refresh, five answers", async () => {
    const email = uniqueEmail("concurrent");
    const first = client();
    const body = await signUp(server, first, email);
    const net = counting();
    // A page that kept both tokens, the access token now past its TOKEN_TTL.
    const expired = server.expired(body.token);
    const c = client({ fetch: net.fetch, accessToken: expired, refreshToken: body.refresh_token });
    const results = await Promise.all([
      c.me(),
      c.me(),
      unwrap(c.api.GET("/products")),
      unwrap(c.api.POST("/products", { body: { name: "Tea", price: 1 } })),
      c.me(),
    ]);
    assert.equal(results.length, 5);
    assert.equal(net.count("/auth/token/refresh"), 1, JSON.stringify(net.seen));
    assert.equal(net.count("/users/me", 401), 3);
    assert.equal(net.count("/users/me", 200), 3);
    assert.equal(net.count("/products", 401), 2);
    assert.notEqual(c.accessToken, expired);
  });

  it("two tabs sharing one stored refresh token: each refreshes with the newest, both stay signed in", async () => {
    const storage = { refresh: null as string | null };
    const tab = (opts: Partial<AccountsClientOptions> = {}) =>
      client({
        refreshToken: storage.refresh,
        getRefreshToken: () => storage.refresh,
        onRefreshToken: (t) => void (storage.refresh = t),
        ...opts,
      });
    const email = uniqueEmail("tabs");
    const a = tab();
    const body = await signUp(server, a, email);
    // Tab B loaded with the first refresh token; its access token has expired since.
    const b = tab({ accessToken: server.expired(body.token) });

    await a.refresh();
    assert.notEqual(storage.refresh, body.refresh_token);
    await sleep(1200); // past REFRESH_REUSE_GRACE: the first token is now reuse
    assert.equal((await b.me()).email, email);

    await sleep(1200); // and so is the token tab A holds in memory
    await a.refresh();
    for (const c of [a, b]) assert.equal((await c.me()).email, email);
  });

  it("a refresh answered after logout does not sign the client back in", async () => {
    let answered = () => {};
    const refreshAnswered = new Promise<void>((resolve) => (answered = resolve));
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const fetch = async (request: Request) => {
      const isRefresh = request.url.endsWith("/auth/token/refresh");
      const response = await globalThis.fetch(request);
      if (isRefresh) {
        answered();
        await held;
      }
      return response;
    };
    const persisted: (string | null)[] = [];
    let ended = 0;
    const c = client({ fetch, onRefreshToken: (t) => void persisted.push(t), onSessionEnd: () => void ended++ });
    const body = await signUp(server, c, uniqueEmail("late-refresh"));

    const refreshing = c.refresh();
    await refreshAnswered; // the server has rotated; the client has not heard yet
    await c.logout();
    release();
    await assert.rejects(refreshing, { status: 401 });
    assert.equal(c.accessToken, null);
    assert.equal(c.refreshToken, null);
    assert.deepEqual(persisted, [body.refresh_token, null]);
    assert.equal(ended, 1);
    await assert.rejects(c.me(), { status: 401 });
  });

  it("an onRefreshToken that throws does not fail the requests waiting on the refresh", async (t) => {
    const logged = t.mock.method(console, "error", () => {});
    const email = uniqueEmail("hook-throws");
    const body = await signUp(server, client(), email);
    const c = client({
      accessToken: server.expired(body.token),
      refreshToken: body.refresh_token,
      onRefreshToken: () => {
        throw new Error("storage is full");
      },
    });
    const results = await Promise.all([c.me(), c.me(), unwrap(c.api.GET("/products"))]);
    assert.equal(results.length, 3);
    assert.notEqual(c.refreshToken, body.refresh_token);
    assert.equal(logged.mock.callCount(), 1);
    assert.equal((await c.me()).email, email);
  });

  it("lists the sessions and ends another device's", async () => {
    const email = uniqueEmail("devices");
    const a = client();
    await signUp(server, a, email);
    const b = client();
    await signIn(server, b, email);

    const list = await a.sessions();
    assert.equal(list.length, 2);
    assert.equal(list.filter((s) => s.current).length, 1);
    const other = list.find((s) => !s.current);
    assert.ok(other);
    await a.endSession(other.id);
    await assert.rejects(b.me(), { status: 401 });
    assert.deepEqual(
      (await a.sessions()).map((s) => s.current),
      [true],
    );
  });

  it("logout others ends the other sessions, global ends all", async () => {
    const email = uniqueEmail("scopes");
    const a = client();
    await signUp(server, a, email);
    const b = client();
    await signIn(server, b, email);
    const c = client();
    await signIn(server, c, email);

    await a.logout("others");
    assert.equal((await a.me()).email, email);
    for (const other of [b, c]) {
      await assert.rejects(other.me(), (err: unknown) => err instanceof ApiError && err.status === 401);
      assert.equal(other.accessToken, null);
    }

    const d = client();
    await signIn(server, d, email);
    await d.logout("global");
    assert.equal(d.accessToken, null);
    await assert.rejects(a.me(), { status: 401 });
  });
});

describe("sessions, refresh token in an HttpOnly cookie", () => {
  let server: ApiServer;
  before(async () => {
    server = await ApiServer.start({ env: { REFRESH_COOKIE: "true", CODE_RESEND_COOLDOWN: "0s" } });
  });
  after(async () => {
    await server?.stop();
  });

  it("a reload continues from the cookie; logout clears it", async () => {
    const browser = browserFetch();
    const page = () => createAccountsClient({ baseUrl: server.baseUrl, refreshMode: "cookie", fetch: browser.fetch });
    const email = uniqueEmail("cookie");
    const first = page();
    const body = await signUp(server, first, email);
    assert.equal(first.refreshToken, null, "cookie mode keeps no refresh token in script memory");
    assert.equal("refresh_token" in body, false, "nor hands it to the page");
    assert.ok(browser.jar.has("refresh_token"));

    // A reload: no access token in memory, the first request refreshes from the cookie.
    const reloaded = page();
    assert.equal((await reloaded.me()).email, email);
    const refresh = browser.sent.filter((s) => s.path.endsWith("/auth/token/refresh"));
    assert.equal(refresh.length, 1);
    assert.equal(refresh[0]?.status, 200);
    assert.ok(refresh[0]?.cookie?.includes("refresh_token="));
    assert.ok(!refresh[0]?.body.includes("refresh_token"), refresh[0]?.body);

    await reloaded.logout();
    assert.ok(!browser.jar.has("refresh_token"), "logout clears the cookie");
    await assert.rejects(page().me(), { status: 401 });
  });

  it("after a refused refresh, 401s do not try the cookie again until the next sign-in", async () => {
    const browser = browserFetch();
    let ended = 0;
    const c = createAccountsClient({
      baseUrl: server.baseUrl,
      refreshMode: "cookie",
      fetch: browser.fetch,
      onSessionEnd: () => void ended++,
    });
    const email = uniqueEmail("cookie-ended");
    await signUp(server, c, email);
    const current = (await c.sessions()).find((s) => s.current);
    assert.ok(current);
    await c.endSession(current.id); // as a lost-device cleanup from another page would
    const refreshes = () => browser.sent.filter((s) => s.path.endsWith("/auth/token/refresh")).length;

    await assert.rejects(c.me(), { status: 401, code: "session_revoked" });
    assert.equal(refreshes(), 1);
    assert.equal(ended, 1);
    await assert.rejects(c.me(), { status: 401 });
    await assert.rejects(unwrap(c.api.GET("/products")), { status: 401 });
    assert.equal(refreshes(), 1);

    await signIn(server, c, email);
    assert.equal((await c.me()).email, email);
  });
});
