// Text from the database made safe for a terminal. Workflow ids, names, inputs, outputs and errors
// are written by applications (or by anyone with access to the tables): an escape sequence in one
// could clear the operator's screen or set the window title, and a newline could forge a line of
// output ("status SUCCESS"). Every control character (C0, DEL, C1) and the Unicode bidirectional
// overrides are shown as escapes instead: \n, \r, \t, \x1b, \u009b, \u202e.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A copy of `row` whose string fields are printable (numbers and nulls as they are). */
export function printableRow<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? printable(v) : v])) as T;
}

/** JSON text whose strings hold no raw DEL or C1 control (JSON.stringify escapes C0 itself). */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
