import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root: ACCOUNTS_REPO, else two levels above the package. */
function repoRoot(): string {
  return path.resolve(process.env.ACCOUNTS_REPO ?? path.join(process.cwd(), "../.."));
}

/**
 * buildServer builds the Go binary once per test process, or takes
 * ACCOUNTS_BIN when set (CI can build it once for every test file).
 */
let built: Promise<string> | undefined;
export function buildServer(): Promise<string> {
  if (process.env.ACCOUNTS_BIN) return Promise.resolve(path.resolve(process.env.ACCOUNTS_BIN));
  built ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "accounts-bin-"));
    // The binary is some 60 MB and each test process builds its own: it goes
    // with the process (every server it started is stopped by then).
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    const bin = path.join(dir, "accounts");
    await run("go", ["build", "-o", bin, "."], { cwd: repoRoot(), maxBuffer: 16 << 20 });
    return bin;
  })();
  return built;
}

export interface StartOptions {
  /** Extra configuration, e.g. {REFRESH_COOKIE: "true"}. */
  env?: Record<string, string>;
}

/**
 * ApiServer is the real server on the embedded backends (SQLite, in-memory
 * codes, local disk, mail to the log) in a temporary DATA_DIR, on a free
 * loopback port. Codes are read from its log, as a developer would.
 */
export class ApiServer {
  readonly baseUrl: string;
  /** The HS256 key the server signs with, so a test can make an expired token. */
  readonly jwtSecret: string;
  readonly #proc: ChildProcess;
  readonly #dataDir: string;
  readonly #lines: string[];

  private constructor(proc: ChildProcess, baseUrl: string, jwtSecret: string, dataDir: string, lines: string[]) {
    this.#proc = proc;
    this.baseUrl = baseUrl;
    this.jwtSecret = jwtSecret;
    this.#dataDir = dataDir;
    this.#lines = lines;
  }

  static async start(opts: StartOptions = {}): Promise<ApiServer> {
    const bin = await buildServer();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accounts-data-"));
    const jwtSecret = randomBytes(32).toString("hex");
    // A clean environment: nothing of the caller's DATABASE_URL, REDIS_URL,
    // S3_* or SMTP_* may leak in, so the backends are the embedded ones.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dataDir,
      APP_ENV: "development",
      HTTP_ADDR: "127.0.0.1:0",
      DATA_DIR: dataDir,
      JWT_SECRET: jwtSecret,
      BCRYPT_COST: "4",
      AUTH_RATE_LIMIT: "0",
      LOG_LEVEL: "info",
      ...opts.env,
    };
    // The working directory is the data dir, so no .env file is read.
    const proc = spawn(bin, ["serve"], { cwd: dataDir, env, stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    for (const stream of [proc.stdout, proc.stderr]) {
      let pending = "";
      stream?.on("data", (chunk: Buffer) => {
        const parts = (pending + chunk.toString("utf8")).split("\n");
        pending = parts.pop() ?? "";
        lines.push(...parts);
      });
    }
    const addr = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${lines.join("\n")}`)), 60_000);
      const check = setInterval(() => {
        for (const line of lines) {
          const m = /msg=listening addr=(\S+)/.exec(line) ?? /"msg":"listening","addr":"([^"]+)"/.exec(line);
          if (m?.[1]) {
            clearTimeout(timer);
            clearInterval(check);
            resolve(m[1]);
            return;
          }
        }
      }, 20);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        clearInterval(check);
        reject(new Error(`server exited with ${code}:\n${lines.join("\n")}`));
      });
    });
    return new ApiServer(proc, `http://${addr}/api/v1`, jwtSecret, dataDir, lines);
  }

  /** mark is a point in the log; code() only looks at lines after it. */
  mark(): number {
    return this.#lines.length;
  }

  /**
   * code waits for the next mail to email logged after the mark and answers
   * the code in it. Some mails (password reset) are sent after the answer.
   */
  async code(email: string, since: number, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = since; i < this.#lines.length; i++) {
        const found = mailCode(this.#lines[i] ?? "", email);
        if (found) return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no code mailed to ${email} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, 25)));
    }
  }

  /** log is the server's output so far, for a failing test's message. */
  log(): string {
    return this.#lines.join("\n");
  }

  /**
   * expired re-signs a token's claims with an `exp` in the past: the token the
   * API sees when an access token outlived TOKEN_TTL.
   */
  expired(token: string): string {
    const [header, payload] = token.split(".");
    if (!header || !payload) throw new Error("not a JWT");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    claims.iat = now - 120;
    claims.exp = now - 60;
    const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    const sig = createHmac("sha256", this.jwtSecret).update(body).digest("base64url");
    return `${body}.${sig}`;
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode === null) {
      const exited = new Promise((resolve) => this.#proc.once("exit", resolve));
      this.#proc.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** mailCode reads the code of a logged mail to email (text or JSON log line). */
function mailCode(line: string, email: string): string | undefined {
  if (line.startsWith("{")) {
    try {
      const rec = JSON.parse(line) as { to?: unknown; code?: unknown };
      if (rec.to === email && typeof rec.code === "string") return rec.code;
    } catch {
      return undefined;
    }
    return undefined;
  }
  if (!line.includes(` to=${email} `) && !line.includes(` to="${email}" `)) return undefined;
  return /\bcode=(\d{6})\b/.exec(line)?.[1];
}

/** uniqueEmail is an address no other test uses. */
export function uniqueEmail(tag: string): string {
  return `${tag}-${randomBytes(6).toString("hex")}@example.com`;
}
