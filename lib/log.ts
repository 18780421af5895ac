// One tiny logger for the engine and the lessons. Lines go to stderr so that a lesson's stdout
// stays its result. WORKBOOK_LOG=debug|info|warn|silent (default info). Every line is redacted
// (lib/redact.ts): a connection string or a known password in a message never reaches the log.
import { redactText } from './redact.js';

const LEVELS = { debug: 10, info: 20, warn: 30, silent: 100 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const v = (process.env.WORKBOOK_LOG ?? 'info').toLowerCase();
  return v in LEVELS ? LEVELS[v as Level] : LEVELS.info;
}

function write(level: Level, msg: string): void {
  if (LEVELS[level] >= threshold()) process.stderr.write(`[${level}] ${redactText(msg)}\n`);
}

export const log = {
  debug: (msg: string) => write('debug', msg),
  info: (msg: string) => write('info', msg),
  warn: (msg: string) => write('warn', msg),
};
