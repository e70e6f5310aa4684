// Generates src/schema.ts from the API's contract, docs/openapi.yaml.
//   node scripts/generate.mjs           write src/schema.ts
//   node scripts/generate.mjs --check   exit 1, showing the difference, when
//                                       the committed file is out of date
// SPEC=path overrides the contract (to try a draft).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import openapiTS, { COMMENT_HEADER, astToString } from "openapi-typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = path.resolve(process.env.SPEC ?? path.join(here, "../../../docs/openapi.yaml"));
const out = path.join(here, "../src/schema.ts");

const ast = await openapiTS(pathToFileURL(spec), {
  // A default in the spec is what the server fills in when a field is left
  // out, so such request fields stay optional.
  defaultNonNullable: false,
});
const generated = COMMENT_HEADER + astToString(ast);

if (!process.argv.includes("--check")) {
  fs.writeFileSync(out, generated);
  console.log(`${path.relative(process.cwd(), out)} generated from ${path.relative(process.cwd(), spec)}`);
  process.exit(0);
}

const committed = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
if (committed === generated) {
  console.log(`${path.relative(process.cwd(), out)} is up to date with ${path.relative(process.cwd(), spec)}`);
  process.exit(0);
}
const a = committed.split("\n");
const b = generated.split("\n");
let i = 0;
while (i < a.length && i < b.length && a[i] === b[i]) i++;
console.error(`${path.relative(process.cwd(), out)} is out of date with ${path.relative(process.cwd(), spec)}:`);
console.error(`first difference at line ${i + 1}:`);
console.error(`  committed: ${a[i] ?? "(end of file)"}`);
console.error(`  generated: ${b[i] ?? "(end of file)"}`);
console.error("fix: cd clients/typescript && npm ci && npm run generate, then commit src/schema.ts");
process.exit(1);
