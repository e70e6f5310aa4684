/**
 * browserFetch stands in for a browser calling the API from another origin:
 * cookies are stored and sent only for requests made with
 * `credentials: "include"`, scoped by Path, never Secure ones over http, and
 * dropped when the server expires them. Every request is recorded.
 */
export function browserFetch() {
  const jar = new Map<string, { value: string; path: string }>();
  const sent: { path: string; cookie: string | null; body: string; status: number }[] = [];

  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const include = request.credentials === "include";
    const body = await request.clone().text();
    let cookie: string | null = null;
    if (include) {
      const pairs = [...jar].filter(([, c]) => url.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
      if (pairs.length > 0) {
        cookie = pairs.join("; ");
        request.headers.set("Cookie", cookie);
      }
    }
    const response = await globalThis.fetch(request);
    sent.push({ path: url.pathname, cookie, body, status: response.status });
    if (include) {
      for (const line of setCookies(response.headers)) store(line, url);
    }
    return response;
  };

  function store(line: string, url: URL) {
    const [pair = "", ...attrs] = line.split(";").map((s) => s.trim());
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = "/";
    let expired = value === "";
    for (const a of attrs) {
      const [k = "", v = ""] = a.split("=");
      const key = k.toLowerCase();
      if (key === "path") path = v;
      if (key === "max-age" && Number(v) <= 0) expired = true;
      if (key === "expires" && Date.parse(v) <= Date.now()) expired = true;
      if (key === "secure" && url.protocol !== "https:") return;
    }
    if (expired) jar.delete(name);
    else jar.set(name, { value, path });
  }

  return { fetch, jar, sent };
}

function setCookies(headers: Headers): string[] {
  const h = headers as Headers & { getSetCookie?: () => string[] };
  if (typeof h.getSetCookie === "function") return h.getSetCookie();
  const one = headers.get("Set-Cookie");
  return one ? [one] : [];
}
