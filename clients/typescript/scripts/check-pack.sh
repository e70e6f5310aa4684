#!/usr/bin/env bash
# check-pack.sh: packs the client as an app would get it, installs the tarball
# in a new project, type-checks the README's sign-in example against the
# packaged types and imports the package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pkg=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
tarball=$(npm pack --silent --pack-destination "$dir" | tail -n 1)
mkdir "$dir/app"
cd "$dir/app"
npm init -y >/dev/null
npm pkg set type=module
npm install --no-audit --no-fund --silent "$dir/$tarball"
cat >tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
    "lib": ["ES2022", "DOM"], "types": [], "strict": true, "noEmit": true }, "include": ["*.ts"] }
JSON
cat >example.ts <<'TS'
import { createAccountsClient, isApiError, unwrap } from "accounts-client";

declare const email: string, password: string;
declare function askForCode(): Promise<string>;
declare function showCountdown(seconds: number | undefined): void;
declare function showError(message: string, fields: Record<string, string>): void;

export async function signIn() {
  const accounts = createAccountsClient({ baseUrl: "https://accounts.example.com/api/v1", refreshMode: "cookie" });
  try {
    await accounts.login({ email, password });
    const code = await askForCode();
    const { user } = await accounts.verifyLogin({ email, code });
    const { product } = await unwrap(accounts.api.POST("/products", { body: { name: "Tea", price: 15000 } }));
    return [user.email, product.price.toFixed(0)];
  } catch (err) {
    if (isApiError(err, "rate_limited")) showCountdown(err.retryAfter);
    else if (isApiError(err)) showError(err.message, err.fields);
    else throw err;
  }
}
TS
"$pkg/node_modules/.bin/tsc" -p .
node -e 'import("accounts-client").then((m) => {
  if (typeof m.createAccountsClient({ baseUrl: "http://localhost/api/v1" }).verifyLogin !== "function") process.exit(1);
})'
echo "npm pack: $tarball installs, imports and type-checks the README example"
