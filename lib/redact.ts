// Promise 9: nothing secret is printed. One redaction for every form a connection string takes:
//   postgres://user:secret@host/db, postgresql://..., with unencoded # @ / ? in the password
//   postgres://host/db?password=secret (also pass=, passwd=, pwd=, sslpassword=)
//   host=h user=u password=secret dbname=d, or password='se cret' (libpq key=value)
//   Password=secret; ("ADO" style) and "password":"secret" (JSON)
// redactUrl() takes one whole connection string; redactText() any text that may hold some (a log
// line, an error message, a report). The log (lib/log.ts) passes every line through redactText().
// It masks too much rather than too little: a URL whose query holds an '@' may lose more than its
// password, never less.

export const MASK = '***';

/** Keys whose value is a secret, in a query string, a libpq key=value string or JSON. */
const KEYS = 'password|passwd|pass|pwd|sslpassword';
/** ?password=... or &password=...: to the next & or ; (a # in the value is still the value: connection URLs have no fragment) */
const QUERY = new RegExp(`([?&;](?:${KEYS})=)[^&;\\s]*`, 'gi');
/** password=... after a start, a space, a comma or a semicolon: a quoted value (libpq's '...' with \\' inside), or up to a space or ; */
const KEY_VALUE = new RegExp(`(^|[\\s,;(])((?:${KEYS})\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'?|"(?:[^"\\\\]|\\\\.)*"?|[^\\s;,)]*)`, 'gi');
/** "password": "..." in JSON */
const JSON_KEY = new RegExp(`("(?:${KEYS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
/** a URL with a scheme, in running text: up to a space or a quote */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi;

/**
 * The userinfo of scheme://user:secret@host masked. The host starts after the LAST '@', so a
 * password holding unencoded '@', '#', '/' or '?' is masked whole.
 */
function maskUserinfo(url: string): string {
  const m = /^([^/@]*\/\/)(.*)$/s.exec(url); // scheme://, or a bare // (a malformed URL is masked too)
  if (!m) return url;
  const rest = m[2];
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return url; // a user and no password
  return `${m[1]}${userinfo.slice(0, colon)}:${MASK}${rest.slice(at)}`;
}

/** The secret values of the key forms masked (query string, key=value, JSON). */
function maskKeys(text: string): string {
  return text.replace(QUERY, `$1${MASK}`).replace(KEY_VALUE, `$1$2${MASK}`).replace(JSON_KEY, `$1"${MASK}"`);
}

/** One connection string, any form (URL or key=value), with its password masked. */
export function redactUrl(connection: string): string {
  return maskKeys(maskUserinfo(connection));
}

/** Any text with every connection string in it masked, and every secret this process was told of (rememberSecret). */
export function redactText(text: string): string {
  let out = maskKeys(text.replace(URL_IN_TEXT, maskUserinfo));
  for (const s of known) out = out.split(s).join(MASK);
  return out;
}

const known = new Set<string>();

/**
 * Remembers the password of a connection string this process uses, so that redactText() masks it
 * wherever it shows up (a driver's error message that quotes it, say). Short passwords are not
 * remembered: masking every "a" would garble the text and hide nothing. Nor is a password that the
 * masked string still shows as its user, host or database name (the embedded server's "workbook"):
 * masking it would hide where the database is, and says nothing the location does not.
 */
export function rememberSecret(connection: string): void {
  const shown = redactUrl(connection);
  for (const secret of passwordsIn(connection)) if (secret.length >= 4 && !shown.includes(secret)) known.add(secret);
}

/** The passwords a connection string holds, as written and decoded. */
export function passwordsIn(connection: string): string[] {
  const found: string[] = [];
  const m = /^[a-z][a-z0-9+.-]*:\/\/(.*)@/is.exec(connection);
  if (m && m[1].includes(':')) found.push(m[1].slice(m[1].indexOf(':') + 1));
  for (const r of connection.matchAll(new RegExp(`(?:^|[?&;\\s,])(?:${KEYS})\\s*=\\s*('(?:[^'\\\\]|\\\\.)*'|"(?:[^"\\\\]|\\\\.)*"|[^&\\s;,]*)`, 'gi'))) {
    found.push(r[1].replace(/^['"]|['"]$/g, ''));
  }
  const out = new Set<string>();
  for (const f of found.filter(Boolean)) {
    out.add(f);
    try {
      out.add(decodeURIComponent(f));
    } catch {
      // not percent-encoded: as written is all there is
    }
  }
  return [...out];
}
