// The server binary the integration tests build (some 60 MB) must not outlive them.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";

it("the built server is removed when the test process exits", async () => {
  const server = new URL("./server.js", import.meta.url).href;
  const script = `import { buildServer } from ${JSON.stringify(server)}; console.log(await buildServer());`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, ACCOUNTS_BIN: "" },
  });
  const bin = stdout.trim();
  assert.match(bin, /accounts-bin-/);
  assert.equal(fs.existsSync(path.dirname(bin)), false, `${path.dirname(bin)} is left behind`);
});
