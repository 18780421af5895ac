// Values cross a crash as text (promise 8), in the format DBOS Transact 5.x writes: SuperJSON (the
// superjson library) with DBOS's marker, `{"json":...,"meta":...,"__dbos_serializer":"superjson"}`.
// SuperJSON keeps what plain JSON would change: a Date comes back a Date, and Map, Set, BigInt,
// undefined, NaN, RegExp and cycles survive, on the first run and on every replay alike. It drops
// functions and symbols without a word, so those, and only those, are refused up front, with the
// path to the bad value. Text without the marker is plain JSON, as this workbook wrote it before
// (a database from an older version still reads).
import superjson from 'superjson';
import { NotSerializableError } from './errors.js';

/** The `serialization` column's value for what we write: DBOS's name for this format. */
export const SERIALIZATION = 'js_superjson';
const MARKER = '__dbos_serializer';

function refuse(value: unknown, path: string, what: string, seen: Set<object>): void {
  if (typeof value === 'function') throw new NotSerializableError(what, path, `a function (${value.name || 'anonymous'})`);
  if (typeof value === 'symbol') throw new NotSerializableError(what, path, `a symbol (${String(value)})`);
  if (typeof value !== 'object' || value === null || value instanceof Date || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Map) for (const [k, v] of value) (refuse(k, `${path}<key>`, what, seen), refuse(v, `${path}.get(${String(k)})`, what, seen));
  else if (value instanceof Set) [...value].forEach((v, i) => refuse(v, `${path}<${i}>`, what, seen));
  else if (Array.isArray(value)) value.forEach((v, i) => refuse(v, `${path}[${i}]`, what, seen));
  else for (const [k, v] of Object.entries(value)) refuse(v, `${path}.${k}`, what, seen);
}

/**
 * True when SuperJSON keeps `value` whole: no function, no symbol anywhere in it. It runs for every
 * step, so it allocates nothing; past depth 64 (deep data or a cycle) refuse() walks it with a seen set.
 */
function keeps(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      return false;
    case 'object': {
      if (value === null || value instanceof Date) return true;
      if (depth > 64) return false;
      if (value instanceof Map || value instanceof Set) return false; // rare: walked by refuse()
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!keeps(value[i], depth + 1)) return false;
        return true;
      }
      for (const k in value) if (!keeps((value as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return true;
  }
}

/** SuperJSON text of `value` in DBOS's format, or null for undefined. `what` names the value in the error. */
export function serialize(value: unknown, what: string): string | null {
  if (value === undefined) return null;
  if (!keeps(value, 0)) refuse(value, '$', what, new Set());
  const { json, meta } = superjson.serialize(value);
  return JSON.stringify(meta === undefined ? { json, [MARKER]: 'superjson' } : { json, meta, [MARKER]: 'superjson' });
}

export function deserialize<T = unknown>(text: string | null): T {
  if (text === null) return undefined as T;
  const parsed = JSON.parse(text) as { json?: unknown; meta?: unknown; [MARKER]?: unknown } | null;
  if (parsed !== null && typeof parsed === 'object' && parsed[MARKER] === 'superjson' && 'json' in parsed) {
    // In place, as superjson.parse does: the object was just parsed and is nobody else's (the copy showed in a replay's profile).
    return superjson.deserialize(parsed as Parameters<typeof superjson.deserialize>[0], { inPlace: true }) as T;
  }
  return parsed as T; // plain JSON, written by an older workbook
}

/** Stored text as a person reads it: the JSON part of SuperJSON text (`["ada"]`), plain JSON as it is; null stays null. */
export function shown(text: string | null): string | null {
  if (text === null) return null;
  const parsed = JSON.parse(text) as { json?: unknown; [MARKER]?: unknown } | null;
  return parsed !== null && typeof parsed === 'object' && parsed[MARKER] === 'superjson' ? JSON.stringify(parsed.json) : text;
}

/** The shape of a recorded error: enough to rethrow something that reads the same. */
export interface RecordedError {
  name: string;
  message: string;
  code?: string;
  dbosErrorCode?: number;
  errors?: { name: string; message: string }[];
}

export function serializeError(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const rec: RecordedError = { name: e.name, message: e.message };
  const { code, dbosErrorCode, errors } = e as { code?: unknown; dbosErrorCode?: unknown; errors?: unknown };
  if (typeof code === 'string') rec.code = code;
  if (typeof dbosErrorCode === 'number') rec.dbosErrorCode = dbosErrorCode;
  if (Array.isArray(errors)) rec.errors = errors.map((x) => ({ name: x?.name ?? 'Error', message: String(x?.message ?? x) }));
  return serialize(rec, 'an error')!;
}

/** An Error rebuilt from its record: same name, message, codes and per-attempt errors. */
export function deserializeError(text: string): Error {
  const rec = deserialize<RecordedError>(text);
  const e = new Error(rec.message) as Error & { code?: string; dbosErrorCode?: number; errors?: Error[] };
  e.name = rec.name;
  if (rec.code) e.code = rec.code;
  if (rec.dbosErrorCode !== undefined) e.dbosErrorCode = rec.dbosErrorCode;
  if (rec.errors) e.errors = rec.errors.map((x) => Object.assign(new Error(x.message), { name: x.name }));
  return e;
}
