// End-to-end tests of the playground in Debian's headless Chromium, driven by playwright-core
// (never a downloaded browser). Run by scripts/test-playground, which builds the page and the
// CLI first. Environment:
//   PLAYGROUND_DIR       the built page (target/playground-site)
//   GATEWASM_CLI         the gatewasm binary, for the byte-for-byte blob comparison
//   PLAYGROUND_EXAMPLES  the manifests to paste (manifests/examples)
//   PLAYGROUND_SCREENSHOT  if set, where to save a screenshot of the page in use
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const dir = resolve(process.env.PLAYGROUND_DIR || "target/playground-site");
const cli = resolve(process.env.GATEWASM_CLI || "target/debug/gatewasm");
const examples = resolve(process.env.PLAYGROUND_EXAMPLES || "manifests/examples");
const screenshot = process.env.PLAYGROUND_SCREENSHOT;
// Must equal FILE_NAME in www/app.js: the name is part of the blob.
const FILE_NAME = "manifests.yaml";
// As the machine notes say: as root, without the sandbox, and without any background
// traffic, which the closed network here would refuse.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// The example set as one multi-document text, joined the way scripts/build-playground joins
// it for the page's start-up example.
function exampleText() {
  return readdirSync(examples)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => readFileSync(join(examples, f), "utf8"))
    .map((t) => (t.endsWith("\n") ? t : t + "\n"))
    .join("---\n");
}

// `python3 -m http.server` on a free loopback port; resolves to its base URL.
function serve(root) {
  const server = spawn(
    "python3",
    ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((ok, fail) => {
    server.on("error", fail);
    server.stdout.on("data", (chunk) => {
      const m = /port (\d+)/.exec(String(chunk));
      if (m) ok({ server, base: `http://127.0.0.1:${m[1]}/` });
    });
  });
}

const results = [];
async function test(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL ${name}\n     ${String(e.stack || e).split("\n").join("\n     ")}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function compiles(page) {
  return Number(await page.locator("body").getAttribute("data-compiles"));
}

// Replaces the editor's text as a paste would and waits for the compile it triggers.
async function paste(page, text) {
  const before = await compiles(page);
  await page.fill("#manifests", text);
  await page.waitForFunction((n) => Number(document.body.dataset.compiles) > n, before);
}

// Fills the request form, presses Explain and returns the explanation shown.
async function explain(page, { method = "GET", url, port = "", headers = "", sni = "" }) {
  await page.selectOption("#method", method);
  await page.fill("#url", url);
  await page.fill("#port", port);
  await page.fill("#sni", sni);
  await page.fill("#headers", headers);
  await page.click("#explain-button");
  return page.locator("#explain").innerText();
}

function line(text, prefix) {
  return text.split("\n").find((l) => l.startsWith(prefix)) || "";
}

async function ready(page, url) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
}

const text = exampleText();
const { server, base } = await serve(dir);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 960 } });
// Short waits: everything here takes milliseconds; a timeout means a broken page.
context.setDefaultTimeout(10000);
const page = await context.newPage();
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
page.on("response", (r) => r.status() >= 400 && pageErrors.push(`${r.status()} ${r.url()}`));
let firstCompileMs;

try {
  await test("the page loads the wasm and compiles its start-up example", async () => {
    await ready(page, base + "index.html");
    // The start-up example is the same text the next test pastes: its compile is the cold one.
    firstCompileMs = Number(await page.locator("body").getAttribute("data-compile-ms"));
    const summary = await page.locator("#summary").innerText();
    assert(summary.startsWith("Gateway edge/edge"), `summary: ${summary}`);
  });

  await test("the pasted example manifests compile, with blob size and rule count shown", async () => {
    await paste(page, text);
    const summary = await page.locator("#summary").innerText();
    assert(/\d+ rules/.test(summary) && /blob \d+ bytes/.test(summary), `summary: ${summary}`);
    assert((await page.locator("#diagnostics li.error").count()) === 0, "no errors expected");
  });

  await test("the route status table shows Accepted and ResolvedRefs per parent", async () => {
    const rows = await page.locator("#routes tbody tr").allInnerTexts();
    const app = rows.find((r) => r.includes("HTTPRoute shop/app"));
    assert(app, `no row for shop/app in ${JSON.stringify(rows)}`);
    assert(/True · Accepted/.test(app) && /True · ResolvedRefs/.test(app), `row: ${app}`);
    assert(app.includes(`${FILE_NAME}:`), `row names no source line: ${app}`);
  });

  await test("GET https://app.example.com/api/v1/orders goes to shop/api-v1", async () => {
    const out = await explain(page, { url: "https://app.example.com/api/v1/orders", headers: "x-user: 42" });
    assert(/^winner: +HTTPRoute shop\/app rule \d+ \(api-v1\) at manifests\.yaml:\d+/m.test(out), out);
    assert(line(out, "action:").includes("forward to cluster shop/api-v1:8080"), out);
    assert(out.includes("request header set x-api-version: v1"), out);
  });

  await test("GET https://app.example.com/api/v1x goes to shop/web, and says why api-v1 lost", async () => {
    const out = await explain(page, { url: "https://app.example.com/api/v1x" });
    assert(line(out, "action:").includes("forward to cluster shop/web:80"), out);
    assert(/\(api-v1\) at [^\n]*PathPrefix \/api\/v1\n\s+the path does not match/.test(out), out);
  });

  await test("GET http://app.example.com/x on port 80 is redirected with 301", async () => {
    const out = await explain(page, { url: "http://app.example.com/x", port: "80" });
    assert(/^listener: http \(port 80, HTTP/m.test(out), out);
    assert(line(out, "action:").includes("answer 301"), out);
    assert(/location: https:\/\/app\.example\.com\/x/.test(out), out);
  });

  await test("the downloaded blob equals `gatewasm compile manifests.yaml -o …`", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const work = mkdtempSync(join(tmpdir(), "gatewasm-playground-"));
    const fromPage = join(work, "page.blob");
    await download.saveAs(fromPage);
    writeFileSync(join(work, FILE_NAME), text);
    // Run where the file is, so the CLI names it exactly as the page does.
    execFileSync(cli, ["compile", FILE_NAME, "-o", "cli.blob"], { cwd: work, stdio: "pipe" });
    const a = readFileSync(fromPage);
    const b = readFileSync(join(work, "cli.blob"));
    assert(a.length > 16 && a.equals(b), `page blob ${a.length} bytes, CLI blob ${b.length} bytes: they differ`);
  });

  await test("a link with the state in its fragment reproduces the case", async () => {
    await explain(page, { url: "http://app.example.com/x", port: "80" });
    // The fragment is written a moment after the last change.
    const saved = async () => {
      const state = await page.evaluate(() => decodeState(location.hash));
      return state && state.request.url === "http://app.example.com/x" && state.request.port === "80";
    };
    for (let i = 0; !(await saved()); i++) {
      assert(i < 50, "the fragment never held the request");
      await page.waitForTimeout(20);
    }
    // page.url() can lag behind history.replaceState; ask the page.
    const link = await page.evaluate(() => location.href);
    assert(/#z=/.test(link), `link: ${link.slice(0, 80)}…`);
    const other = await context.newPage();
    await ready(other, link);
    assert((await other.inputValue("#manifests")) === text, "manifests differ");
    assert((await other.inputValue("#url")) === "http://app.example.com/x", "URL differs");
    assert((await other.inputValue("#port")) === "80", "port differs");
    const shown = await other.locator("#explain").innerText();
    assert(shown === (await page.locator("#explain").innerText()), `explanation differs: ${shown}`);
    await other.close();
  });

  await test("a broken manifest shows its error, with the line highlighted", async () => {
    // Break the first path value: it must start with '/'.
    const lines = text.split("\n");
    const at = lines.findIndex((l) => /^\s+value: \/\S/.test(l));
    assert(at >= 0, "no path value to break");
    lines[at] = lines[at].replace("value: /", "value: ");
    await paste(page, lines.join("\n"));
    const want = at + 1;
    const marked = await page.locator("#gutter-lines .error").allInnerTexts();
    assert(JSON.stringify(marked) === JSON.stringify([String(want)]), `marked ${marked}, want ${want}`);
    const errors = await page.locator("#diagnostics li.error").allInnerTexts();
    assert(errors.some((e) => e.startsWith(`error: ${FILE_NAME}:${want}:`)), errors.join("\n"));
    assert(await page.locator("#download").isDisabled(), "download must be disabled");
    await page.locator("#diagnostics li.error").first().click();
    const caret = await page.evaluate(() => {
      const t = document.getElementById("manifests");
      return t.value.slice(0, t.selectionStart).split("\n").length;
    });
    assert(caret === want, `clicking the error put the caret on line ${caret}, want ${want}`);
  });

  await test("the page works from file:// as well", async () => {
    const local = await context.newPage();
    await ready(local, pathToFileURL(join(dir, "index.html")).href);
    const summary = await local.locator("#summary").innerText();
    assert(summary.startsWith("Gateway edge/edge"), `summary: ${summary}`);
    await local.close();
  });

  await test("no errors in the browser console", async () => {
    assert(pageErrors.length === 0, pageErrors.join("\n"));
  });

  // Timing: the first compile of the pasted example, and the median of ten more.
  await paste(page, text);
  const times = [];
  for (let i = 0; i < 10; i++) {
    times.push(await page.evaluate(() => (compileNow(), Number(document.body.dataset.compileMs))));
  }
  times.sort((a, b) => a - b);
  console.log(
    `compile time in Chromium for ${text.split("\n").length} lines: first ${firstCompileMs.toFixed(1)} ms, ` +
      `median of 10 ${((times[4] + times[5]) / 2).toFixed(1)} ms`,
  );

  if (screenshot) {
    await explain(page, { url: "https://app.example.com/api/v1x" });
    // The winner's `file:line` link (the last one) shows its rule in the editor.
    await page.locator("#explain a.source").last().click();
    await page.screenshot({ path: screenshot });
    console.log(`screenshot: ${screenshot}`);
  }
} finally {
  await browser.close();
  server.kill();
}

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`playground: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
