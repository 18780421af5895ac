// Values cross a crash as JSON text (promise 8). JSON silently changes some values (a BigInt
// throws, a function vanishes, undefined in an array becomes null, a Map becomes {}), and a replay
// would then return something else than the first run did. So we refuse them up front, with the
// path to the bad value.
import { NotSerializableError } from './errors.js';

function check(value: unknown, path: string, what: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'bigint':
      throw new NotSerializableError(what, path, `a BigInt (${value}n)`);
    case 'function':
      throw new NotSerializableError(what, path, 'a function');
    case 'symbol':
      throw new NotSerializableError(what, path, 'a symbol');
    case 'number':
      if (!Number.isFinite(value)) throw new NotSerializableError(what, path, `the number ${value}`);
      return;
    case 'object': {
      if (value === null || value instanceof Date) return;
      if (seen.has(value)) throw new NotSerializableError(what, path, 'a cycle (an object that contains itself)');
      if (value instanceof Map || value instanceof Set) {
        throw new NotSerializableError(what, path, `a ${value.constructor.name} (JSON turns it into {})`);
      }
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item === undefined) throw new NotSerializableError(what, `${path}[${i}]`, 'undefined inside an array');
          check(item, `${path}[${i}]`, what, seen);
        });
      } else {
        for (const [k, v] of Object.entries(value)) check(v, `${path}.${k}`, what, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      return;
  }
}

/**
 * The same rules as check(), without building paths or tracking cycles: true when JSON keeps
 * `value` as it is. It runs for every step, so it allocates nothing; on false, check() runs to
 * name the path (a cycle shows here as a depth past 256).
 */
function keepsAsJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'bigint':
    case 'function':
    case 'symbol':
      return false;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null || value instanceof Date) return true;
      if (depth > 256 || value instanceof Map || value instanceof Set) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined || !keepsAsJson(item, depth + 1)) return false;
        }
        return true;
      }
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) if (!keepsAsJson((value as Record<string, unknown>)[keys[i]], depth + 1)) return false;
      return true;
    }
    default:
      return true;
  }
}

/** JSON text of `value`, or null for undefined. `what` names the value in the error ("step users' result"). */
export function serialize(value: unknown, what: string): string | null {
  if (value === undefined) return null;
  if (!keepsAsJson(value, 0)) check(value, '$', what, new Set());
  return JSON.stringify(value);
}

export function deserialize<T = unknown>(text: string | null): T {
  return (text === null ? undefined : JSON.parse(text)) as T;
}

/** The JSON shape of a recorded error: enough to rethrow something that reads the same. */
export interface RecordedError {
  name: string;
  message: string;
  code?: string;
  errors?: { name: string; message: string }[];
}

export function serializeError(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const rec: RecordedError = { name: e.name, message: e.message };
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') rec.code = code;
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) rec.errors = errors.map((x) => ({ name: x?.name ?? 'Error', message: String(x?.message ?? x) }));
  return JSON.stringify(rec);
}

/** An Error rebuilt from its record: same name, message, code and per-attempt errors. */
export function deserializeError(text: string): Error {
  const rec = JSON.parse(text) as RecordedError;
  const e = new Error(rec.message) as Error & { code?: string; errors?: Error[] };
  e.name = rec.name;
  if (rec.code) e.code = rec.code;
  if (rec.errors) e.errors = rec.errors.map((x) => Object.assign(new Error(x.message), { name: x.name }));
  return e;
}
