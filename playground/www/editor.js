// The manifest editor: a plain <textarea> with a line-number gutter and a backdrop that
// paints the lines diagnostics point at. No editor framework: the page stays a few KB and
// works offline.
"use strict";

function createEditor(textarea, gutter, backdrop) {
  // Line number -> "error" | "warning", from the last compilation.
  let marks = new Map();
  let focused = 0;

  function lineCount() {
    return textarea.value.split("\n").length;
  }

  // Rebuilds gutter and backdrop; cheap enough for manifests of a few thousand lines.
  function paint() {
    const n = lineCount();
    const g = document.createDocumentFragment();
    const b = document.createDocumentFragment();
    for (let i = 1; i <= n; i++) {
      const num = document.createElement("div");
      const row = document.createElement("div");
      num.textContent = i;
      num.dataset.line = i;
      const mark = marks.get(i);
      if (mark) {
        num.className = mark;
        row.className = mark;
      }
      if (i === focused) row.classList.add("focus");
      g.appendChild(num);
      b.appendChild(row);
    }
    gutter.replaceChildren(g);
    backdrop.replaceChildren(b);
    sync();
  }

  // The gutter and backdrop do not scroll themselves: they follow the textarea.
  function sync() {
    gutter.style.transform = `translateY(${-textarea.scrollTop}px)`;
    backdrop.style.transform = `translate(${-textarea.scrollLeft}px, ${-textarea.scrollTop}px)`;
  }

  function lineHeight() {
    return parseFloat(getComputedStyle(textarea).lineHeight) || 18;
  }

  textarea.addEventListener("scroll", sync);
  textarea.addEventListener("input", () => {
    // Lines may have moved: old marks would point at the wrong place until the next compile.
    marks = new Map();
    focused = 0;
    paint();
  });

  return {
    get text() {
      return textarea.value;
    },
    set text(value) {
      textarea.value = value;
      marks = new Map();
      paint();
    },
    // Highlights the lines of `diagnostics` (errors win over warnings on the same line).
    mark(diagnostics) {
      marks = new Map();
      for (const d of diagnostics) {
        if (d.line < 1 || (d.severity !== "error" && d.severity !== "warning")) continue;
        if (marks.get(d.line) !== "error") marks.set(d.line, d.severity);
      }
      paint();
    },
    // Puts the caret at the start of `line` and scrolls it into view.
    jumpTo(line) {
      const lines = textarea.value.split("\n");
      const at = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
      textarea.focus();
      textarea.setSelectionRange(at, at);
      textarea.scrollTop = Math.max(0, (line - 1) * lineHeight() - textarea.clientHeight / 3);
      focused = line;
      paint();
    },
  };
}
