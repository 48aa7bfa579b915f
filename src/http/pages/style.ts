/**
 * @module style
 * The pages' only stylesheet and only script, inlined (one request per page on a slow link) and allowed by
 * their SHA-256 in the Content-Security-Policy, so no other inline code can run. Focus is always visible.
 */

export const CSS = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--accent:#0b57d0;--bg:#fff;--soft:#f6f8fa;--bad:#b3261e;--good:#1a7f37}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
:focus-visible{outline:3px solid #f9a825;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:9}
header.top{display:flex;gap:16px;align-items:center;padding:10px 20px;border-bottom:1px solid var(--line);background:var(--soft)}
header.top .brand{font-weight:700;margin-right:8px}
header.top nav a{margin-right:12px}
header.top .who{margin-left:auto;color:var(--muted)}
main{padding:16px 20px;max-width:1100px}
h1{font-size:1.5rem;margin:.2em 0 .6em}h2{font-size:1.15rem;margin:1.4em 0 .5em}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600}
button,.button{font:inherit;padding:5px 12px;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg);cursor:pointer;text-decoration:none;display:inline-block}
button.primary,.button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{color:var(--bad)}
input,select,textarea{font:inherit;padding:5px 8px;border:1px solid #8c959f;border-radius:6px}
label{font-weight:600;margin-right:6px}
.row{display:flex;gap:8px;align-items:end;flex-wrap:wrap;margin:.5em 0}
.row > div{display:flex;flex-direction:column}
.head{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
caption{text-align:left;padding:4px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:var(--soft);border:1px solid var(--line);font-size:.85em}
.level{font-family:ui-monospace,monospace;font-size:.9em}
.muted{color:var(--muted)}
.error{border:1px solid var(--bad);color:var(--bad);background:#fdecea;padding:8px 12px;border-radius:6px}
.notice{border:1px solid var(--good);color:var(--good);background:#e6f4ea;padding:8px 12px;border-radius:6px}
.dialog{border:1px solid var(--line);border-radius:10px;padding:16px 20px;box-shadow:0 8px 24px rgba(0,0,0,.12);max-width:760px}
pre.snippet{background:var(--soft);border:1px solid var(--line);padding:10px;border-radius:6px;overflow:auto}
ul.feed{list-style:none;padding:0}ul.feed li{border-left:3px solid var(--line);padding:4px 10px;margin:6px 0}
form.inline{display:inline}
`;

/** Copies the snippet named by a button's `data-copy` (clipboard needs JS; without it the text is selectable). */
export const SCRIPT = `document.addEventListener('click',function(e){var b=e.target.closest&&e.target.closest('button[data-copy]');if(!b)return;var t=document.getElementById(b.getAttribute('data-copy'));if(!t||!navigator.clipboard)return;navigator.clipboard.writeText(t.textContent).then(function(){b.textContent='Copied';});});`;

let csp: Promise<string> | undefined;

async function sha256(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let s = '';
  for (const b of d) s += String.fromCharCode(b);
  return `'sha256-${btoa(s)}'`;
}

/** The policy: nothing but this page's own style and script, no framing, forms only to this site. */
export function contentSecurityPolicy(): Promise<string> {
  csp ??= (async () =>
    `default-src 'none'; style-src ${await sha256(CSS)}; script-src ${await sha256(SCRIPT)}; img-src 'self'; ` +
    `form-action 'self'; frame-ancestors 'none'; base-uri 'none'`)();
  return csp;
}
