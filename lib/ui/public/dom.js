// Builds the page from data without ever parsing it as markup: every value becomes a text node
// (the server already made control characters visible as \x1b, \n: lib/printable.ts).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onclick' || k === 'onchange' || k === 'onsubmit') el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const time = (ms) => (ms === null || ms === undefined ? '-' : new Date(ms).toLocaleString(undefined, { hour12: false }) + `.${String(ms % 1000).padStart(3, '0')}`);
export const clock = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour12: false }) + `.${String(ms % 1000).padStart(3, '0')}`;
export const wfLink = (key, text) => h('a', { href: `#/wf/${encodeURIComponent(key)}`, className: 'wfid' }, text);
export const status = (s) => h('span', { className: `status s-${s}` }, s);

export async function getJson(url, init) {
  const r = await fetch(url, init);
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  if (!r.ok) throw Object.assign(new Error(body.error ?? `${r.status}`), { status: r.status });
  return body;
}

export function table(head, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, head.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}
