import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError, createAccountsClient, unwrap, type AccountsClientOptions } from "../../src/index.js";
import { FakeApi } from "./fake-api.js";

const baseUrl = "http://api.test/api/v1";

async function signedIn(opts: Partial<AccountsClientOptions> = {}) {
  const api = new FakeApi();
  const persisted: (string | null)[] = [];
  let ended = 0;
  const client = createAccountsClient({
    baseUrl,
    fetch: api.fetch,
    onRefreshToken: (t) => {
      persisted.push(t);
    },
    onSessionEnd: () => {
      ended++;
    },
    ...opts,
  });
  await client.verifyLogin({ email: "a@example.com", code: "123456" });
  return { api, client, persisted, ended: () => ended };
}

describe("session: access token and refresh", () => {
  it("sends the access token it got from the verify step", async () => {
    const { api, client } = await signedIn();
    await client.me();
    const me = api.seen.find((s) => s.path === "/users/me");
    assert.equal(me?.authorization, `Bearer ${client.accessToken}`);
  });

  it("refreshes once on 401 and retries the request with the new token", async () => {
    const { api, client, persisted } = await signedIn();
    const before = client.accessToken;
    api.expireAccess();
    const me = await client.me();
    assert.equal(me.email, "a@example.com");
    assert.notEqual(client.accessToken, before);
    assert.equal(api.count("/auth/token/refresh"), 1);
    assert.deepEqual(
      api.seen.filter((s) => s.path === "/users/me").map((s) => s.authorization),
      [`Bearer ${before}`, `Bearer ${client.accessToken}`],
    );
    // Body mode: the old refresh token was sent and the rotated one handed to the app.
    const refresh = api.seen.find((s) => s.path === "/auth/token/refresh");
    assert.deepEqual(refresh?.body, { refresh_token: "refresh-1" });
    assert.equal(refresh?.authorization, null);
    assert.deepEqual(persisted, ["refresh-1", "refresh-2"]);
    assert.equal(client.refreshToken, "refresh-2");
  });

  it("runs one refresh for five requests that hit 401 together", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    api.delayMs = 20;
    const results = await Promise.all([
      client.me(),
      client.me(),
      unwrap(client.api.POST("/products", { body: { name: "Tea", price: 1500 } })),
      client.me(),
      client.me(),
    ]);
    assert.equal(results.length, 5);
    assert.equal(api.count("/auth/token/refresh"), 1);
    const retried = api.seen.filter((s) => s.path !== "/auth/token/refresh" && s.authorization === `Bearer ${client.accessToken}`);
    assert.equal(retried.length, 5);
  });

  it("retries a POST with its body after the refresh", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    const { product } = await unwrap(client.api.POST("/products", { body: { name: "Tea", price: 1500 } }));
    assert.equal(product.name, "Tea");
    const posts = api.seen.filter((s) => s.path === "/products");
    assert.equal(posts.length, 2);
    assert.deepEqual(posts[1]?.body, { name: "Tea", price: 1500 });
  });

  it("does not refresh again for a 401 that answers a token already replaced", async () => {
    const { api, client } = await signedIn();
    const stale = client.accessToken;
    api.expireAccess();
    // The slow request leaves with the old token, the refresh completes meanwhile.
    api.delayMs = 30;
    const slow = client.me();
    await new Promise((r) => setTimeout(r, 5));
    api.delayMs = 1;
    await client.refresh();
    await slow;
    assert.equal(api.count("/auth/token/refresh"), 1);
    assert.notEqual(client.accessToken, stale);
  });

  it("retries only once: a second 401 is the caller's error", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    // Every token the refresh issues is refused as well.
    const issue = api.issue.bind(api);
    api.issue = () => {
      const pair = issue();
      api.live.delete(pair.token);
      return pair;
    };
    await assert.rejects(client.me(), (err: unknown) => err instanceof ApiError && err.code === "unauthorized");
    assert.equal(api.count("/auth/token/refresh"), 1);
    assert.equal(api.count("/users/me"), 2);
  });

  it("ends the session when the refresh is refused, once for all waiting requests", async () => {
    const { api, client, persisted, ended } = await signedIn();
    api.expireAccess();
    api.refreshFailure = { status: 401, body: { error: { code: "session_revoked", message: "the session has ended" } } };
    const results = await Promise.allSettled([client.me(), client.me(), client.me()]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.ok(r.reason instanceof ApiError);
      assert.equal(r.reason.status, 401);
      assert.equal(r.reason.code, "session_revoked");
    }
    assert.equal(api.count("/auth/token/refresh"), 1);
    assert.equal(client.accessToken, null);
    assert.equal(client.refreshToken, null);
    assert.deepEqual(persisted, ["refresh-1", null]);
    assert.equal(ended(), 1);
    // Signed out now: a request gets its 401 without trying to refresh.
    await assert.rejects(client.me(), (err: unknown) => err instanceof ApiError && err.code === "unauthorized");
    assert.equal(api.count("/auth/token/refresh"), 1);
  });

  it("cookie mode with no cookie: the refresh finds nothing, the request keeps its own 401", async () => {
    const api = new FakeApi();
    let ended = 0;
    const client = createAccountsClient({ baseUrl, fetch: api.fetch, refreshMode: "cookie", onSessionEnd: () => void ended++ });
    api.refreshFailure = {
      status: 400,
      body: { error: { code: "validation_failed", message: "invalid", fields: { refresh_token: "is required" } } },
    };
    await assert.rejects(client.me(), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 401);
      assert.equal(err.code, "unauthorized");
      return true;
    });
    assert.equal(api.count("/auth/token/refresh"), 1);
    assert.equal(ended, 0, "there was no session to end");
  });

  it("keeps the session when the refresh fails for a passing reason", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    api.refreshFailure = {
      status: 503,
      body: { error: { code: "unavailable", message: "try again later" } },
      headers: { "Retry-After": "5" },
    };
    await assert.rejects(client.me(), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 503);
      assert.equal(err.code, "unavailable");
      assert.equal(err.retryAfter, 5);
      return true;
    });
    assert.equal(client.refreshToken, "refresh-1");
    api.refreshFailure = null;
    assert.equal((await client.me()).email, "a@example.com");
  });

  it("a refresh that cannot reach the server rejects the waiting requests, and the next one tries again", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    api.refreshThrows = new TypeError("fetch failed");
    const results = await Promise.allSettled([client.me(), client.me()]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.ok(r.reason instanceof TypeError);
    }
    assert.equal(client.refreshToken, "refresh-1");
    api.refreshThrows = null;
    assert.equal((await client.me()).email, "a@example.com");
  });

  it("sends a request that has its own Authorization header as it is", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    await assert.rejects(
      unwrap(client.api.GET("/users/me", { headers: { Authorization: "Bearer someone-else" } })),
      { status: 401 },
    );
    assert.equal(api.count("/auth/token/refresh"), 0);
  });

  it("continues a persisted session in body mode", async () => {
    const api = new FakeApi();
    const { refresh_token } = api.issue();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch, refreshToken: refresh_token });
    assert.equal(client.accessToken, null);
    assert.equal((await client.me()).email, "a@example.com");
    assert.equal(api.count("/auth/token/refresh"), 1);
    assert.ok(client.accessToken);
  });

  it("cookie mode: sends no refresh token, includes credentials, keeps no refresh token", async () => {
    const persisted: (string | null)[] = [];
    const { api, client } = await signedIn({ refreshMode: "cookie", onRefreshToken: (t) => void persisted.push(t) });
    assert.equal(client.refreshToken, null);
    api.expireAccess();
    await client.me();
    const refresh = api.seen.find((s) => s.path === "/auth/token/refresh");
    assert.deepEqual(refresh?.body, {});
    await client.logout();
    assert.deepEqual(api.seen.find((s) => s.path === "/auth/logout")?.body, { scope: "local" });
    for (const s of api.seen) assert.equal(s.credentials, "include", `${s.method} ${s.path}`);
    assert.deepEqual(persisted, []);
  });

  it("cookie mode: a fresh page load refreshes from the cookie on the first 401", async () => {
    const api = new FakeApi();
    api.issue();
    api.expireAccess();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch, refreshMode: "cookie" });
    assert.equal((await client.me()).email, "a@example.com");
    assert.equal(api.count("/auth/token/refresh"), 1);
  });
});

describe("logout", () => {
  for (const scope of ["local", "others", "global"] as const) {
    it(`sends scope ${scope}`, async () => {
      const { api, client, persisted } = await signedIn();
      await client.logout(scope);
      const out = api.seen.find((s) => s.path === "/auth/logout");
      // Body mode names the session by its refresh token as well.
      assert.deepEqual(out?.body, { scope, refresh_token: "refresh-1" });
      if (scope === "others") {
        assert.ok(client.accessToken);
        assert.deepEqual(persisted, ["refresh-1"]);
      } else {
        assert.equal(client.accessToken, null);
        assert.deepEqual(persisted, ["refresh-1", null]);
      }
    });
  }

  it("clears the local state when the session had already ended", async () => {
    const { api, client } = await signedIn();
    api.expireAccess();
    api.refreshFailure = { status: 401, body: { error: { code: "session_revoked", message: "ended" } } };
    await client.logout();
    assert.equal(client.accessToken, null);
  });
});

describe("errors", () => {
  it("a validation failure carries code, message and fields", async () => {
    const api = new FakeApi();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch });
    await assert.rejects(
      client.register({ first_name: "A", last_name: "B", email: "nope", password: "correct horse" }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 400);
        assert.equal(err.code, "validation_failed");
        assert.equal(err.message, "the request is invalid");
        assert.deepEqual(err.fields, { email: "must be a valid email address" });
        return true;
      },
    );
    // Public routes never refresh.
    assert.equal(api.count("/auth/token/refresh"), 0);
  });

  it("429 carries Retry-After as seconds", async () => {
    const api = new FakeApi();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch });
    await assert.rejects(client.login({ email: "a@example.com", password: "correct horse" }), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, "rate_limited");
      assert.equal(err.retryAfter, 42);
      return true;
    });
  });

  it("an answer outside the error shape gets the code of its status", async () => {
    const api = new FakeApi();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch });
    await assert.rejects(client.forgotPassword({ email: "a@example.com" }), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 502);
      assert.equal(err.code, "unavailable");
      assert.deepEqual(err.fields, {});
      return true;
    });
  });

  it("a wrong code is invalid_code and starts no session", async () => {
    const api = new FakeApi();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch });
    await assert.rejects(client.verifyLogin({ email: "a@example.com", code: "000000" }), { code: "invalid_code" });
    assert.equal(client.accessToken, null);
  });
});

describe("tabs sharing one stored refresh token", () => {
  it("reads the stored token just before each refresh, so a tab never sends one another tab rotated", async () => {
    const api = new FakeApi();
    const storage = { refresh: null as string | null };
    const tab = (opts: Partial<AccountsClientOptions> = {}) =>
      createAccountsClient({
        baseUrl,
        fetch: api.fetch,
        refreshToken: storage.refresh,
        getRefreshToken: () => storage.refresh,
        onRefreshToken: (t) => void (storage.refresh = t),
        ...opts,
      });
    const a = tab();
    await a.verifyLogin({ email: "a@example.com", code: "123456" });
    const b = tab(); // loaded while refresh-1 was stored
    api.expireAccess();
    await a.me(); // a rotates refresh-1 into refresh-2
    assert.equal(storage.refresh, "refresh-2");

    assert.equal((await b.me()).email, "a@example.com");
    const sent = api.seen.filter((s) => s.path === "/auth/token/refresh").map((s) => s.body);
    assert.deepEqual(sent, [{ refresh_token: "refresh-1" }, { refresh_token: "refresh-2" }]);
    assert.equal(storage.refresh, "refresh-3");
    assert.equal(b.refreshToken, "refresh-3");
  });

  it("falls back to the token in memory when the app has none, and awaits an async getter", async () => {
    const { api, client } = await signedIn({ getRefreshToken: async () => undefined });
    api.expireAccess();
    await client.me();
    assert.deepEqual(api.seen.find((s) => s.path === "/auth/token/refresh")?.body, { refresh_token: "refresh-1" });
  });
});

describe("an onRefreshToken hook that fails", () => {
  for (const kind of ["throws", "rejects"] as const) {
    it(`${kind}: the requests waiting on the refresh still succeed and the error is reported`, async (t) => {
      const logged = t.mock.method(console, "error", () => {});
      const failure = new Error("storage is full");
      const { api, client } = await signedIn({
        onRefreshToken: (token) => {
          if (token !== "refresh-2") return;
          if (kind === "throws") throw failure;
          return Promise.reject(failure);
        },
      });
      api.expireAccess();
      const results = await Promise.all([client.me(), client.me(), client.me()]);
      assert.equal(results.length, 3);
      // The server rotated: the new token is the one to use from now on.
      assert.equal(client.refreshToken, "refresh-2");
      assert.equal(api.count("/auth/token/refresh"), 1);
      assert.equal(logged.mock.callCount(), 1);
      assert.ok((logged.mock.calls[0]?.arguments as unknown[]).includes(failure));
    });
  }

  it("logout still ends the session when persisting null fails", async (t) => {
    t.mock.method(console, "error", () => {});
    const { client, ended } = await signedIn({
      onRefreshToken: (token) => {
        if (token === null) throw new Error("storage is gone");
      },
    });
    await client.logout();
    assert.equal(client.accessToken, null);
    assert.equal(ended(), 1);
  });
});

describe("logout while a refresh is on its way", () => {
  it("drops the late refresh answer: no sign-in again, no dead token persisted, one session end", async () => {
    const api = new FakeApi();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    // The refresh reaches the server at once; its answer comes back only after logout.
    const fetch = async (request: Request) => {
      const response = await api.fetch(request);
      if (new URL(request.url).pathname.endsWith("/auth/token/refresh")) await held;
      return response;
    };
    const { client, persisted, ended } = await signedIn({ fetch });
    const refreshing = client.refresh();
    await client.logout();
    release();
    await assert.rejects(refreshing, { status: 401 });

    assert.equal(client.accessToken, null);
    assert.equal(client.refreshToken, null);
    assert.deepEqual(persisted, ["refresh-1", null]);
    assert.equal(ended(), 1);
    await assert.rejects(client.me(), { status: 401 });
    assert.equal(api.count("/auth/token/refresh"), 1);
  });
});

describe("cookie mode after the session ended", () => {
  it("a refused refresh ends it: later 401s do not refresh until the next sign-in", async () => {
    const { api, client, ended } = await signedIn({ refreshMode: "cookie" });
    api.expireAccess();
    api.refreshFailure = { status: 401, body: { error: { code: "session_revoked", message: "the session has ended" } } };
    await assert.rejects(client.me(), { status: 401, code: "session_revoked" });
    assert.equal(ended(), 1);
    await assert.rejects(client.me(), { status: 401, code: "unauthorized" });
    await assert.rejects(unwrap(client.api.GET("/users/me")), { status: 401 });
    assert.equal(api.count("/auth/token/refresh"), 1);

    api.refreshFailure = null;
    await client.verifyLogin({ email: "a@example.com", code: "123456" });
    api.expireAccess();
    assert.equal((await client.me()).email, "a@example.com");
    assert.equal(api.count("/auth/token/refresh"), 2);
  });

  it("a signed-out page tries the cookie once, not on every 401", async () => {
    const api = new FakeApi();
    const client = createAccountsClient({ baseUrl, fetch: api.fetch, refreshMode: "cookie" });
    api.refreshFailure = {
      status: 400,
      body: { error: { code: "validation_failed", message: "invalid", fields: { refresh_token: "is required" } } },
    };
    await assert.rejects(client.me(), { status: 401 });
    await assert.rejects(client.me(), { status: 401 });
    assert.equal(api.count("/auth/token/refresh"), 1);
  });
});

describe("cookie mode keeps the refresh token from page scripts", () => {
  it("verifyLogin answers without refresh_token in cookie mode, with it in body mode", async () => {
    const api = new FakeApi();
    const cookie = createAccountsClient({ baseUrl, fetch: api.fetch, refreshMode: "cookie" });
    const inCookieMode = await cookie.verifyLogin({ email: "a@example.com", code: "123456" });
    assert.equal("refresh_token" in inCookieMode, false);
    assert.ok(inCookieMode.token);
    assert.equal(inCookieMode.user.email, "a@example.com");

    const body = createAccountsClient({ baseUrl, fetch: api.fetch });
    assert.ok((await body.verifyLogin({ email: "a@example.com", code: "123456" })).refresh_token);
  });
});
