// A side effect outside the database, for ex11's second part: a receiver that keeps what it is sent
// in a file of JSON lines, as an HTTP API would keep the requests it gets. Like an API that honours
// an `Idempotency-Key` header, it applies a request whose key it has already applied only once; a
// request without a key is applied every time. Nothing here can join the engine's transaction: a
// step that sends and then dies before its checkpoint sends again on the retry or the recovery.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { currentContext } from './context.js';
import { ConfigError } from './errors.js';

interface Request {
  key: string | null;
  body: string;
  applied: boolean;
}

export class FileReceiver {
  constructor(readonly file: string) {}

  /** Forgets everything received (the lesson's first step does this, once per workflow). */
  reset(): void {
    writeFileSync(this.file, '');
  }

  private read(): Request[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Request);
  }

  /** One request: always logged; applied unless a request with the same key was applied before. */
  deliver(body: string, key?: string): 'applied' | 'duplicate' {
    const duplicate = key !== undefined && this.read().some((r) => r.applied && r.key === key);
    // Synchronous: the line is in the file before anything else can happen, a crash included.
    appendFileSync(this.file, JSON.stringify({ key: key ?? null, body, applied: !duplicate } satisfies Request) + '\n');
    return duplicate ? 'duplicate' : 'applied';
  }

  /** Requests received, requests applied, and requests applied had no key been sent (all of them). */
  stats(): { requests: number; applied: number; duplicates: number } {
    const all = this.read();
    const applied = all.filter((r) => r.applied).length;
    return { requests: all.length, applied, duplicates: all.length - applied };
  }
}

/**
 * The idempotency key of the step running now: `<workflow id>:<function id>`. Both are the same on
 * every retry of the step and on every recovery of the workflow (the function id is the step's
 * place in the workflow), and differ for every other step call: exactly the identity of "this send".
 */
export function idempotencyKey(): string {
  const ctx = currentContext();
  if (!ctx?.step) throw new ConfigError('idempotencyKey() is for the inside of a step: call it in the step that makes the outside call.');
  return `${ctx.workflowID}:${ctx.step.stepID}`;
}
