// Cron expressions, parsed by croner (5 fields, or 6 with seconds first: `*/2 * * * * *` every two
// seconds). A slot is one time the expression names; each slot runs once (scheduler.ts).
import { Cron } from 'croner';
import { ConfigError } from '../errors.js';

/** The parsed expression; throws a ConfigError naming the expression and the fix. */
export function parseCron(expression: string, timezone?: string | null, what = 'a schedule'): Cron {
  try {
    return new Cron(expression, { timezone: timezone ?? undefined, paused: true });
  } catch (err) {
    throw new ConfigError(
      `${what}: "${expression}"${timezone ? ` (time zone ${timezone})` : ''} is not a cron expression croner accepts (${(err as Error).message}). ` +
        'Use 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "*/2 * * * * *" for every two seconds.',
    );
  }
}

/** The first slot strictly after `after` (epoch ms), or null when the expression names no more. */
export function nextSlot(cron: Cron, after: number): Date | null {
  return cron.nextRun(new Date(after));
}

/** The slots in (start, end), oldest first. */
export function slotsBetween(cron: Cron, start: number, end: number): Date[] {
  const out: Date[] = [];
  for (let s = nextSlot(cron, start); s && s.getTime() < end; s = nextSlot(cron, s.getTime())) out.push(s);
  return out;
}

/** DBOS's workflow id for a slot: the schedule's name and the slot's time, so every scheduler derives the same one. */
export const slotWorkflowID = (scheduleName: string, slot: Date): string => `sched-${scheduleName}-${slot.toISOString()}`;
