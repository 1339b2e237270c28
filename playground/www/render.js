// Turns the compiler's report (JSON from the wasm side) into the page's lists and tables.
// Every `file:line` shown becomes a link that moves the editor to that line.
"use strict";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, attrs || {});
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

// `text` with every `<file>:<line>` turned into a link calling `jump(line)`.
function linkified(text, file, jump) {
  const out = document.createDocumentFragment();
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`${escaped}:(\\d+)`, "g");
  let last = 0;
  for (const m of text.matchAll(re)) {
    out.append(text.slice(last, m.index));
    const a = el("a", { className: "source", textContent: m[0], title: "show in the editor" });
    a.addEventListener("click", () => jump(Number(m[1])));
    out.append(a);
    last = m.index + m[0].length;
  }
  out.append(text.slice(last));
  return out;
}

function renderDiagnostics(list, diagnostics, jump) {
  list.replaceChildren(
    ...diagnostics.map((d) => {
      const li = el("li", { className: d.severity, textContent: d.text });
      li.dataset.line = d.line;
      if (d.line > 0) li.addEventListener("click", () => jump(d.line));
      return li;
    }),
  );
}

function condition(conditions, type) {
  const c = conditions.find((x) => x.type === type);
  if (!c) return el("td", { textContent: "–" });
  return el(
    "td",
    { className: c.status === "True" ? "cond-true" : "cond-false", title: c.message },
    `${c.status} · ${c.reason}`,
    c.status === "True" ? null : el("small", { textContent: c.message }),
  );
}

function parentLabel(p) {
  let s = `${p.kind} ${p.namespace}/${p.name}`;
  if (p.sectionName) s += ` section ${p.sectionName}`;
  if (p.port) s += ` port ${p.port}`;
  return s;
}

// One row per route and parentRef: Accepted and ResolvedRefs with their reasons.
function renderRoutes(tbody, status, file, jump) {
  const rows = [];
  for (const r of status ? status.routes : []) {
    const parents = r.parents.length ? r.parents : [null];
    for (const p of parents) {
      const route = el(
        "td",
        null,
        `${r.kind} ${r.namespace}/${r.name}`,
        el("small", null, linkified(r.source, file, jump)),
      );
      if (!p) {
        rows.push(el("tr", null, route, el("td", { colSpan: 3, textContent: "no parentRefs" })));
        continue;
      }
      rows.push(
        el(
          "tr",
          null,
          route,
          el("td", { textContent: parentLabel(p.parentRef) }),
          condition(p.conditions, "Accepted"),
          condition(p.conditions, "ResolvedRefs"),
        ),
      );
    }
  }
  tbody.replaceChildren(...rows);
}

function renderListeners(tbody, status) {
  const rows = [];
  for (const g of status ? status.gateways : []) {
    for (const l of g.listeners) {
      const conds = l.conditions.map((c) =>
        el("span", {
          className: c.status === "True" ? "cond-true" : "cond-false",
          title: c.message,
          textContent: `${c.type} ${c.status === "True" ? "✓" : "✗ " + c.reason}  `,
        }),
      );
      rows.push(
        el(
          "tr",
          null,
          el("td", { textContent: `${g.namespace}/${g.name} ${l.name}` }),
          el("td", { textContent: String(l.attachedRoutes) }),
          el("td", null, ...conds),
        ),
      );
    }
  }
  tbody.replaceChildren(...rows);
}

function summaryText(report, ms) {
  const time = `compiled in ${ms.toFixed(1)} ms`;
  if (!report.ok) {
    const errors = report.diagnostics.filter((d) => d.severity === "error").length;
    return `${errors} error${errors === 1 ? "" : "s"}: nothing compiled (${time})`;
  }
  const s = report.summary;
  const warnings = report.diagnostics.filter((d) => d.severity === "warning").length;
  return (
    `Gateway ${s.gateway}: ${s.listeners} listeners, ${s.routes} routes, ${s.rules} rules, ` +
    `${s.matches} matches, ${s.backends} backends · blob ${s.blobBytes} bytes ` +
    `(v${s.formatVersion}, crc32 ${s.checksum}) · ${warnings} warnings · ${time}`
  );
}
