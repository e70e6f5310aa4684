import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError, isApiError, parseRetryAfter } from "../../src/index.js";

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    assert.equal(parseRetryAfter("60"), 60);
    assert.equal(parseRetryAfter(" 0 "), 0);
  });
  it("turns an HTTP date into the seconds left", () => {
    const now = Date.parse("2025-01-31T09:30:00Z");
    assert.equal(parseRetryAfter("Fri, 31 Jan 2025 09:30:30 GMT", now), 30);
    assert.equal(parseRetryAfter("Fri, 31 Jan 2025 09:29:00 GMT", now), 0);
  });
  it("ignores a missing or unreadable header", () => {
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
    assert.equal(parseRetryAfter("-5"), undefined);
  });
});

describe("ApiError", () => {
  it("is built from a response body in the API's shape", async () => {
    const res = new Response(
      JSON.stringify({ error: { code: "rate_limited", message: "wait", fields: { x: "y", n: 1 } } }),
      { status: 429, headers: { "Retry-After": "120" } },
    );
    const err = await ApiError.fromResponse(res);
    assert.equal(err.status, 429);
    assert.equal(err.code, "rate_limited");
    assert.equal(err.message, "wait");
    assert.deepEqual(err.fields, { x: "y" });
    assert.equal(err.retryAfter, 120);
    assert.ok(err instanceof Error);
    assert.ok(isApiError(err));
    assert.ok(isApiError(err, "rate_limited"));
    assert.ok(!isApiError(err, "invalid_code"));
    assert.ok(!isApiError(new Error("x")));
  });
  it("falls back to the status for an empty body", async () => {
    const err = await ApiError.fromResponse(new Response(null, { status: 401 }));
    assert.equal(err.code, "unauthorized");
    assert.equal(err.message, "HTTP 401");
  });
});
