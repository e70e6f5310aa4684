// The sign-up, sign-in and password-reset flows against the real server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { ApiError, createAccountsClient, unwrap, type AccountsClient } from "../../src/index.js";
import { ApiServer, uniqueEmail } from "./server.js";

let server: ApiServer;

before(async () => {
  server = await ApiServer.start();
});

after(async () => {
  await server?.stop();
});

function newClient(): AccountsClient {
  return createAccountsClient({ baseUrl: server.baseUrl });
}

/** signUp registers email and verifies it with the code from the log. */
async function signUp(client: AccountsClient, email: string, password = "correct horse") {
  const mark = server.mark();
  const sent = await client.register({ first_name: "Ali", last_name: "Valiyev", email, password });
  assert.equal(sent.email, email);
  assert.ok(sent.expires_in > 0);
  return client.verifyRegistration({ email, code: await server.code(email, mark) });
}

describe("sign-up", () => {
  it("register → verify → me → product", async () => {
    const client = newClient();
    const email = uniqueEmail("signup");
    const body = await signUp(client, email);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.user.email, email);
    assert.equal(client.accessToken, body.token);

    const me = await client.me();
    assert.equal(me.email, email);
    assert.equal(me.products_total, 0);

    const { product } = await unwrap(client.api.POST("/products", { body: { name: "Green tea", price: 15000 } }));
    assert.equal(product.name, "Green tea");
    assert.equal(product.currency, "UZS");
    const page = await unwrap(client.api.GET("/products", { params: { query: { per_page: 10 } } }));
    assert.deepEqual(
      page.items.map((p) => p.id),
      [product.id],
    );
    assert.equal((await client.me()).products_total, 1);
  });

  it("a validation failure is an ApiError with its fields", async () => {
    const client = newClient();
    await assert.rejects(
      client.register({ first_name: "Ali", last_name: "Valiyev", email: "not an email", password: "short" }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.code, "validation_failed");
        assert.ok(err.message.length > 0);
        assert.ok(err.fields.email, JSON.stringify(err.fields));
        assert.ok(err.fields.password, JSON.stringify(err.fields));
        return true;
      },
    );
  });

  it("a second code mail within the cooldown is 429 with Retry-After in seconds", async () => {
    const client = newClient();
    const email = uniqueEmail("cooldown");
    const input = { first_name: "Ali", last_name: "Valiyev", email, password: "correct horse" };
    await client.register(input);
    await assert.rejects(client.register(input), (err: unknown) => {
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.status, 429);
      assert.equal(err.code, "rate_limited");
      assert.equal(typeof err.retryAfter, "number");
      assert.ok(err.retryAfter! > 0 && err.retryAfter! <= 60, String(err.retryAfter));
      return true;
    });
  });

  it("a wrong code is invalid_code and signs nobody in", async () => {
    const client = newClient();
    const email = uniqueEmail("wrongcode");
    const mark = server.mark();
    await client.register({ first_name: "Ali", last_name: "Valiyev", email, password: "correct horse" });
    const code = await server.code(email, mark);
    const wrong = code === "000000" ? "111111" : "000000";
    await assert.rejects(client.verifyRegistration({ email, code: wrong }), { code: "invalid_code", status: 400 });
    assert.equal(client.accessToken, null);
  });
});

describe("sign-in", () => {
  it("login → verify → me", async () => {
    const email = uniqueEmail("signin");
    await signUp(newClient(), email);

    const client = newClient();
    const mark = server.mark();
    await client.login({ email, password: "correct horse" });
    const body = await client.verifyLogin({ email, code: await server.code(email, mark) });
    assert.equal(body.user.email, email);
    assert.equal((await client.me()).email, email);
  });

  it("a wrong password is invalid_credentials", async () => {
    const email = uniqueEmail("badpass");
    await signUp(newClient(), email);
    await assert.rejects(newClient().login({ email, password: "wrong horse!" }), {
      code: "invalid_credentials",
      status: 400,
    });
  });

  it("a request without a session is unauthorized", async () => {
    await assert.rejects(newClient().me(), { code: "unauthorized", status: 401 });
  });
});

describe("password reset", () => {
  it("forgot → verify → reset → sign in with the new password", async () => {
    const email = uniqueEmail("reset");
    const signedIn = newClient();
    await signUp(signedIn, email);

    const client = newClient();
    const mark = server.mark();
    await client.forgotPassword({ email });
    const code = await server.code(email, mark);
    assert.deepEqual(await client.verifyPasswordCode({ email, code }), { valid: true });
    await client.resetPassword({ email, code, password: "a brand new horse" });

    // The reset ended every session, the one signed in before included.
    await assert.rejects(signedIn.me(), { status: 401 });
    await assert.rejects(client.login({ email, password: "correct horse" }), { code: "invalid_credentials" });
    const mark2 = server.mark();
    await client.login({ email, password: "a brand new horse" });
    await client.verifyLogin({ email, code: await server.code(email, mark2) });
    assert.equal((await client.me()).email, email);
  });
});
