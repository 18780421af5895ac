// What a lesson is given on its command line and in its WORKBOOK_* environment, checked before
// anything starts: an unknown flag (`--postgres`) is refused with the valid ones (exit 2), and an
// unknown or misspelled WORKBOOK_* variable is warned about, with the nearest known name, instead
// of being silently ignored (WORKBOOK_P_CRASH_AFTER_WRTE=1 would otherwise run with the default).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './config.js';
import { ConfigError } from './errors.js';
import { declaredSites, siteEnvName } from './faults.js';

/** A flag a lesson takes: `--pg`, or `--resume <id>` (with a value). */
export interface LessonFlag {
  flag: string;
  value?: string;
  help: string;
}

/** The flags every lesson takes: the database choice (lib/config.ts reads them). */
export const DATABASE_FLAGS: LessonFlag[] = [
  { flag: '--pg', help: 'the embedded PostgreSQL, as WORKBOOK_DB=pg' },
  { flag: '--sqlite', help: 'SQLite, the default' },
  { flag: '--engine', value: '<dbos|workbook>', help: 'run on real DBOS Transact (PostgreSQL only), as WORKBOOK_ENGINE=dbos' },
];

/** Throws a ConfigError naming the first argument that is not one of `flags`, and listing them. */
export function checkLessonArgs(app: string, flags: LessonFlag[], argv: string[] = process.argv.slice(2)): void {
  for (let i = 0; i < argv.length; i++) {
    const f = flags.find((x) => x.flag === argv[i]);
    if (f?.value) {
      i++; // its value (checked by the code that reads it)
      continue;
    }
    if (f) continue;
    const list = flags.map((x) => `${x.flag}${x.value ? ` ${x.value}` : ''} (${x.help})`).join(', ');
    const near = nearest(argv[i], flags.map((x) => x.flag)) ?? (/postgres|pg/i.test(argv[i]) && flags.some((x) => x.flag === '--pg') ? '--pg' : undefined);
    throw new ConfigError(`${app} does not take "${argv[i]}"${near ? ` (did you mean ${near}?)` : ''}. It takes: ${list}; ` +
      'the database can also be chosen with WORKBOOK_DB=pg or DATABASE_URL=postgres://...');
  }
}

/** Levenshtein distance: how many one-letter edits turn a into b. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The known name closest to `word`, if it is close enough to be a typo of it (prefixes they share are not counted). */
export function nearest(word: string, known: Iterable<string>): string | undefined {
  const bare = (w: string) => w.toUpperCase().replace(/^(WORKBOOK_P_|WORKBOOK_|--)/, '');
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = editDistance(bare(word), bare(name));
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(bare(word).length / 5)) ? best.name : undefined;
}

/** The WORKBOOK_* variables this project reads: named here, and any other its sources mention. */
const KNOWN = ['WORKBOOK_DB', 'WORKBOOK_SEED', 'WORKBOOK_SQLITE_FILE', 'WORKBOOK_SQLITE_SYNC', 'WORKBOOK_DATA_DIR', 'WORKBOOK_WAIT_MS',
  'WORKBOOK_LOG', 'WORKBOOK_PROFILES_DIR', 'WORKBOOK_LOOP_SLEEP_MS', 'WORKBOOK_PG_KEEP', 'WORKBOOK_TEST_DB', 'WORKBOOK_TRACE'];

function mentionedInSources(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js)$/.test(name)) for (const m of readFileSync(path, 'utf8').matchAll(/WORKBOOK_[A-Z0-9_]*[A-Z0-9]/g)) names.add(m[0]);
    }
  };
  for (const dir of ['lib', 'experiments', 'scripts', 'bench']) walk(join(PROJECT_ROOT, dir));
  return names;
}

/**
 * One warning line per WORKBOOK_* variable that nothing reads: a WORKBOOK_P_<SITE> for a site this
 * program does not declare, or another name no source mentions. Each says the nearest known name.
 */
export function unknownVariables(app: string, env: NodeJS.ProcessEnv = process.env, sites: Iterable<string> = declaredSites): string[] {
  const siteVars = [...sites].map(siteEnvName);
  let known: Set<string> | undefined;
  const warnings: string[] = [];
  for (const name of Object.keys(env).filter((n) => n.startsWith('WORKBOOK_')).sort()) {
    if (name.startsWith('WORKBOOK_P_')) {
      if (siteVars.includes(name)) continue;
      const near = nearest(name, siteVars);
      warnings.push(`${name} is not a fault site of ${app}, so it is ignored` +
        (near ? `: did you mean ${near}?` : siteVars.length ? ` (its sites: ${siteVars.join(', ')})` : ` (${app} injects no faults)`));
      continue;
    }
    known ??= new Set([...KNOWN, ...mentionedInSources()]);
    if (known.has(name)) continue;
    const near = nearest(name, known);
    warnings.push(`${name} is not a variable the workbook reads, so it is ignored${near ? `: did you mean ${near}?` : ' (README: "Choosing the database", "Breaking things on purpose")'}`);
  }
  return warnings;
}
