// Promise 5: step retries. A pure backoff function, and the loop that keeps every attempt's error.
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, MaxStepRetriesError } from './errors.js';
import { log } from './log.js';

export interface StepConfig {
  /** retry the step when it throws (default false, as DBOS) */
  retriesAllowed?: boolean;
  /** total attempts, the first one included (default 3) */
  maxAttempts?: number;
  /** wait before the first retry, in seconds (default 1) */
  intervalSeconds?: number;
  /** each wait is the previous one times this (default 2) */
  backoffRate?: number;
  /** no wait is longer than this, in seconds (default 3600) */
  maxIntervalSeconds?: number;
  /** return false to stop retrying on this error (default: retry every error) */
  shouldRetry?: (err: unknown) => boolean;
}

export type ResolvedStepConfig = Required<Omit<StepConfig, 'shouldRetry'>> & Pick<StepConfig, 'shouldRetry'>;

export const STEP_DEFAULTS = {
  retriesAllowed: false,
  maxAttempts: 3,
  intervalSeconds: 1,
  backoffRate: 2,
  maxIntervalSeconds: 3600,
} as const;

/** Validates the options once, at registration, and fills in the defaults. */
export function resolveStepConfig(stepName: string, cfg: StepConfig = {}): ResolvedStepConfig {
  const r = { ...STEP_DEFAULTS, ...cfg };
  const bad = (what: string, got: unknown) =>
    new ConfigError(`Step "${stepName}": ${what} (got ${JSON.stringify(got) ?? String(got)}). Fix the step's options.`);
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1) throw bad('maxAttempts must be a whole number >= 1', cfg.maxAttempts);
  if (typeof r.intervalSeconds !== 'number' || !Number.isFinite(r.intervalSeconds) || r.intervalSeconds < 0)
    throw bad('intervalSeconds must be a number >= 0', cfg.intervalSeconds);
  if (typeof r.backoffRate !== 'number' || !Number.isFinite(r.backoffRate) || r.backoffRate < 1)
    throw bad('backoffRate must be a number >= 1', cfg.backoffRate);
  if (typeof r.maxIntervalSeconds !== 'number' || !(r.maxIntervalSeconds >= 0))
    throw bad('maxIntervalSeconds must be a number >= 0', cfg.maxIntervalSeconds);
  if (typeof r.retriesAllowed !== 'boolean') throw bad('retriesAllowed must be true or false', cfg.retriesAllowed);
  return r;
}

/** Seconds to wait after failed attempt `attempt` (1-based): interval x rate^(attempt-1), capped. */
export function backoffSeconds(attempt: number, cfg: Pick<ResolvedStepConfig, 'intervalSeconds' | 'backoffRate' | 'maxIntervalSeconds'>): number {
  return Math.min(cfg.intervalSeconds * cfg.backoffRate ** (attempt - 1), cfg.maxIntervalSeconds);
}

/**
 * Runs `attempt(n)` until it succeeds or the attempts run out. Without retriesAllowed the first
 * error is the step's outcome; with it, the final error is a MaxStepRetriesError carrying every
 * attempt's error. No sleep after the last attempt.
 */
export function withRetries<T>(stepName: string, cfg: ResolvedStepConfig, attempt: (n: number) => Promise<T>): Promise<T> {
  // Without retries the one attempt's outcome is the step's: no loop, and no extra promise per step.
  if (!cfg.retriesAllowed) return attempt(1);
  return retryLoop(stepName, cfg, attempt);
}

async function retryLoop<T>(stepName: string, cfg: ResolvedStepConfig, attempt: (n: number) => Promise<T>): Promise<T> {
  const max = cfg.maxAttempts;
  const errors: Error[] = [];
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
      if (cfg.shouldRetry && !cfg.shouldRetry(err)) {
        log.info(`step ${stepName}: attempt ${n}/${max} failed and shouldRetry said no: ${errors.at(-1)!.message}`);
        throw err; // not retryable: the real cause is the outcome
      }
      if (n >= max) throw new MaxStepRetriesError(stepName, max, errors);
      const wait = backoffSeconds(n, cfg);
      log.info(`step ${stepName}: attempt ${n}/${max} failed: ${errors.at(-1)!.message}; retrying in ${wait.toFixed(2)} s`);
      await sleep(wait * 1000);
    }
  }
}
