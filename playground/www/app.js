// The playground's wiring: load the wasm, compile on every edit, explain the request, keep
// the state in the URL fragment, and offer the blob for download.
"use strict";

// The name the compiler reports for the editor's text. It is written into the blob (each
// route's `file:line`), so `gatewasm compile manifests.yaml -o routes.blob`, run in the
// folder holding a file of this name with the same text, produces the same bytes.
const FILE_NAME = "manifests.yaml";
const DEFAULT_REQUEST = {
  method: "GET",
  url: "https://app.example.com/api/v1/orders?page=2",
  headers: "x-user: 42",
  port: "",
  sni: "",
};

const $ = (id) => document.getElementById(id);
const fields = ["method", "url", "headers", "port", "sni"];
let editor;
let compilation = null;
let compiles = 0;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

async function loadWasm() {
  // Chromium refuses fetch() on file://, so for a page opened from disk the build also
  // writes the module as base64 into a classic script.
  if (location.protocol === "file:") {
    await loadScript("gatewasm_playground_bg.wasm.js");
    await wasm_bindgen({ module_or_path: fromBase64Url(window.GATEWASM_WASM) });
  } else {
    await wasm_bindgen({ module_or_path: "gatewasm_playground_bg.wasm" });
  }
}

function debounce(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function jump(line) {
  editor.jumpTo(line);
}

function compileNow() {
  const t0 = performance.now();
  const next = new wasm_bindgen.Compilation(FILE_NAME, editor.text, $("gateway").value);
  const ms = performance.now() - t0;
  const report = JSON.parse(next.report());
  if (compilation) compilation.free();
  compilation = next;

  editor.mark(report.diagnostics);
  renderDiagnostics($("diagnostics"), report.diagnostics, jump);
  renderRoutes($("routes").tBodies[0], report.status, FILE_NAME, jump);
  renderListeners($("listeners").tBodies[0], report.status);
  $("summary").textContent = summaryText(report, ms);
  $("summary").classList.toggle("failed", !report.ok);
  $("download").disabled = !report.ok;
  // For the browser tests and anyone timing the page: the last compile, in milliseconds.
  document.body.dataset.compileMs = ms.toFixed(2);
  document.body.dataset.compiles = ++compiles;
  explainNow();
}

function explainNow() {
  const out = $("explain");
  const port = $("port").value ? Number($("port").value) : undefined;
  try {
    const text = compilation.explain(
      $("method").value,
      $("url").value.trim(),
      $("headers").value,
      port,
      $("sni").value.trim() || undefined,
    );
    out.replaceChildren(linkified(text, FILE_NAME, jump));
    out.classList.remove("failed");
  } catch (e) {
    out.textContent = e.message;
    out.classList.add("failed");
  }
  saveState();
}

function currentState() {
  const request = {};
  for (const f of fields) request[f] = $(f).value;
  return { manifests: editor.text, gateway: $("gateway").value, request };
}

function applyState(state) {
  editor.text = state.manifests || "";
  $("gateway").value = state.gateway || "";
  const request = Object.assign({}, DEFAULT_REQUEST, state.request);
  for (const f of fields) $(f).value = request[f];
}

// Called after every compile and explanation (themselves debounced): compressing a few KB
// takes well under a millisecond. The sequence number keeps a slower, older encoding from
// overwriting a newer one.
let saves = 0;
async function saveState() {
  const seq = ++saves;
  const fragment = await encodeState(currentState());
  if (seq === saves) history.replaceState(null, "", "#" + fragment);
}

function download() {
  const bytes = compilation && compilation.blob();
  if (!bytes) return;
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = el("a", { href: url, download: "routes.blob" });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function share() {
  await saveState();
  try {
    await navigator.clipboard.writeText(location.href);
    $("share").textContent = "Link copied";
  } catch (e) {
    // No clipboard (an insecure origin): the link is in the address bar all the same.
    $("share").textContent = "Link is in the address bar";
  }
  setTimeout(() => ($("share").textContent = "Copy link"), 2000);
}

async function main() {
  $("filename").textContent = FILE_NAME;
  editor = createEditor($("manifests"), $("gutter-lines"), $("backdrop-lines"));
  const state = (await decodeState(location.hash)) || {
    manifests: window.GATEWASM_EXAMPLE,
    request: DEFAULT_REQUEST,
  };
  applyState(state);
  try {
    await loadWasm();
  } catch (e) {
    $("summary").textContent = `cannot load the compiler: ${e.message}`;
    $("summary").classList.add("failed");
    return;
  }
  compileNow();

  $("manifests").addEventListener("input", debounce(compileNow, 250));
  $("gateway").addEventListener("input", debounce(compileNow, 250));
  $("request").addEventListener("input", debounce(explainNow, 250));
  $("request").addEventListener("submit", (e) => {
    e.preventDefault();
    explainNow();
  });
  $("download").addEventListener("click", download);
  $("share").addEventListener("click", share);
  document.body.dataset.ready = "true";
}

main();
