// Promise 9: nothing secret is printed. Every database URL goes through here before a log line or
// an error message sees it.
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // Not a URL we can parse: mask whatever stands between "user:" and "@".
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}
