// The page state (manifests, Gateway, request) in the URL fragment, so a link reproduces a
// case. `#z=` is deflate-raw (the browser's CompressionStream) then base64url; `#j=` is plain
// base64url JSON for browsers without CompressionStream. The fragment never reaches a server.
"use strict";

function toBase64Url(bytes) {
  let binary = "";
  // Chunked: String.fromCharCode with a huge argument list overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function pipeBytes(bytes, transform) {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function encodeState(state) {
  const json = new TextEncoder().encode(JSON.stringify(state));
  if (typeof CompressionStream === "function") {
    return "z=" + toBase64Url(await pipeBytes(json, new CompressionStream("deflate-raw")));
  }
  return "j=" + toBase64Url(json);
}

// The state in `fragment` (with or without the leading '#'), or null when there is none or
// it cannot be read (a truncated link): the page then starts from the example.
async function decodeState(fragment) {
  const f = fragment.replace(/^#/, "");
  try {
    let json;
    if (f.startsWith("z=")) {
      json = await pipeBytes(fromBase64Url(f.slice(2)), new DecompressionStream("deflate-raw"));
    } else if (f.startsWith("j=")) {
      json = fromBase64Url(f.slice(2));
    } else {
      return null;
    }
    return JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    console.warn("ignoring an unreadable link fragment:", e);
    return null;
  }
}
