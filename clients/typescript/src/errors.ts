import type { components } from "./schema.js";

/** ErrorCode is one of the API's stable, machine-readable error codes. */
export type ErrorCode = components["schemas"]["ErrorCode"];

/**
 * ApiError is every answer of the API that is not a success: build on `code`
 * (stable), show `message` and `fields` (per request field, only with
 * `validation_failed`) to people.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  /** HTTP status of the answer. */
  readonly status: number;
  /** The API's error code; derived from the status when the body had none. */
  readonly code: ErrorCode;
  /** What is wrong with each request field (only with `validation_failed`). */
  readonly fields: Record<string, string>;
  /**
   * Seconds to wait before trying again, from the `Retry-After` header
   * (always set on `429`; `undefined` when the answer had no such header).
   */
  readonly retryAfter: number | undefined;

  constructor(init: {
    status: number;
    code: ErrorCode;
    message: string;
    fields?: Record<string, string>;
    retryAfter?: number;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.fields = init.fields ?? {};
    this.retryAfter = init.retryAfter;
  }

  /**
   * fromResponse builds the error for a response whose body was already
   * parsed (as openapi-fetch does) or is read here when `body` is omitted.
   */
  static async fromResponse(response: Response, body?: unknown): Promise<ApiError> {
    if (body === undefined) {
      body = await readJSON(response);
    }
    return ApiError.from(response.status, response.headers, body);
  }

  /** from builds the error from a status, headers and the parsed body. */
  static from(status: number, headers: Headers, body: unknown): ApiError {
    const detail = errorDetail(body);
    return new ApiError({
      status,
      code: detail?.code ?? codeForStatus(status),
      message: detail?.message ?? `HTTP ${status}`,
      fields: detail?.fields,
      retryAfter: parseRetryAfter(headers.get("Retry-After")),
    });
  }
}

/** isApiError narrows an unknown caught value, optionally to one code. */
export function isApiError(err: unknown, code?: ErrorCode): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

type Detail = { code: ErrorCode; message: string; fields?: Record<string, string> };

function errorDetail(body: unknown): Detail | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const err = (body as { error?: unknown }).error;
  if (typeof err !== "object" || err === null) return undefined;
  const { code, message, fields } = err as Record<string, unknown>;
  if (typeof code !== "string" || typeof message !== "string") return undefined;
  const out: Detail = { code: code as ErrorCode, message };
  if (typeof fields === "object" && fields !== null) {
    out.fields = Object.fromEntries(
      Object.entries(fields).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }
  return out;
}

// codeForStatus names an answer that did not come in the API's error shape
// (a proxy's 502 page, say) with the code the API would have used.
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "validation_failed";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "rate_limited";
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return "internal";
  }
}

/**
 * parseRetryAfter reads a Retry-After header as whole seconds: the API sends
 * delta-seconds; an HTTP date (allowed by RFC 9110, sent by some proxies) is
 * turned into the seconds left.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  // An HTTP date names its day and month; Date.parse alone would take "-5" for a year.
  if (!/^[A-Za-z]{3}, /.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

async function readJSON(response: Response): Promise<unknown> {
  try {
    const text = await response.text();
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
