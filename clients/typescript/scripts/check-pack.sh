#!/usr/bin/env bash
# check-pack.sh: packs the client as an app would get it, installs the tarball
# in a new project, type-checks the READMEs' marked examples against the
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
# The READMEs' examples, not copies of them: a ```ts fence right after the
# marker line is written to a file of its own. The names they leave to the
# app are declared once, globally.
marker='<!-- type-checked against the package by scripts/check-pack.sh -->'
for named in "client:$pkg/README.md" "repository:$pkg/../../README.md"; do
	readme=${named#*:}
	if ! awk -v marker="$marker" -v tag="readme-${named%%:*}" '
		inblock && /^```$/ { inblock = 0; close(file); next }
		inblock { print > file; next }
		want && /^```ts$/ { n++; file = sprintf("%s-%d.ts", tag, n); inblock = 1; next }
		{ want = ($0 == marker) }
		END { exit inblock || n == 0 }
	' "$readme"; then
		echo "check-pack: no complete marked example in $readme" >&2
		exit 1
	fi
done
cat >app.d.ts <<'TS'
declare const email: string, password: string, first_name: string, last_name: string, code: string;
declare const router: { push(path: string): void };
declare function askForCode(): Promise<string>;
declare function showCountdown(seconds: number | undefined): void;
declare function showError(message: string, fields: Record<string, string>): void;
TS
"$pkg/node_modules/.bin/tsc" -p .
node -e 'import("accounts-client").then((m) => {
  if (typeof m.createAccountsClient({ baseUrl: "http://localhost/api/v1" }).verifyLogin !== "function") process.exit(1);
})'
echo "npm pack: $tarball installs, imports and type-checks the README examples ($(ls readme-*.ts | xargs))"
