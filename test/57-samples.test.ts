// What the lessons say they print is what they print (issue 12, item 9). Each lesson's header has a
// sample under "What it prints" (its `|` lines), and the README has samples of ex2, ex3, ex4 and
// ex6: each is compared with a real run on SQLite, line by line, in order. A sample line must equal
// an output line once what varies is allowed for: "..." (anything), <id> and `8569e084-...` (a
// workflow id), a timestamp, a decimal number (a time); runs of spaces count as one. The run may
// print more lines than the sample shows (the sample is a subsequence of the output).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { tempDir } from './helpers.js';

/** A sample line as a whole-line pattern. */
export function samplePattern(line: string): RegExp {
  const marked = line.trim()
    .replace(/<id>|\b[0-9a-f]{8}-\.\.\./g, '\u0001')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '\u0002')
    .replace(/\.\.\./g, '\u0003')
    .replace(/\d+\.\d+/g, '\u0004');
  const escaped = marked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+')
    .replace(/\u0001/g, '[0-9a-f-]{8,}').replace(/\u0002/g, '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z').replace(/\u0003/g, '.*').replace(/\u0004/g, '\\d+\\.\\d+');
  return new RegExp(`^${escaped}$`);
}

/** The sample lines that the output does not show, in order (empty when the sample is true). */
export function missingFromOutput(sample: string[], output: string): string[] {
  const lines = output.split('\n').map((l) => l.trim());
  let at = 0;
  const missing: string[] = [];
  for (const s of sample) {
    const re = samplePattern(s);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    if (found < 0) missing.push(s);
    else at = found + 1;
  }
  return missing;
}

/** The `|` lines of a lesson's "What it prints". */
function headerSample(lesson: string): string[] {
  const text = readFileSync(join(PROJECT_ROOT, 'experiments', `${lesson}.ts`), 'utf8');
  const section = text.slice(text.indexOf(' * What it prints'));
  return section.slice(0, section.indexOf('\n *\n')).split('\n').filter((l) => l.startsWith(' *   | ')).map((l) => l.slice(7));
}

/** The README's code block whose first line starts with `first`, without blank lines. */
function readmeSample(first: string): string[] {
  const blocks = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').split('```');
  const block = blocks.find((b, i) => i % 2 === 1 && b.replace(/^\w*\n/, '').startsWith(first));
  if (!block) throw new Error(`README has no code block starting with "${first}"`);
  return block.replace(/^\w*\n/, '').split('\n').filter((l) => l.trim() !== '');
}

/** A lesson (or the retry loop around it) on a fresh SQLite database, stdout and stderr in one stream, in order. */
function run(args: string[]): Promise<string> {
  const data = tempDir('workbook-sample-');
  const env: NodeJS.ProcessEnv = { ...process.env, WORKBOOK_DB: 'sqlite', WORKBOOK_DATA_DIR: data, WORKBOOK_LOG: 'info', WORKBOOK_LOOP_SLEEP_MS: '100' };
  for (const k of ['DATABASE_URL', 'WORKBOOK_SQLITE_FILE', 'WORKBOOK_SEED']) delete env[k];
  const cmd = [process.execPath, '--import', 'tsx', ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `exec ${cmd} 2>&1`], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

describe('the sample matcher', () => {
  it('allows what varies and nothing else', () => {
    expect(missingFromOutput(['workflow <id> started', 'RESULT: 20'], 'workflow 0168a150-6fec-4527-aacf-2061cc68eeed started\npage 0\nRESULT: 20')).toEqual([]);
    expect(missingFromOutput(['RESULT: 20', 'workflow <id> started'], 'workflow 0168a150-6fec started\nRESULT: 20')).toEqual(['workflow <id> started']); // order counts
    expect(missingFromOutput(['  #2 insertPage  ran now'], '  #2 insertPage  replayed from checkpoint')).toEqual(['  #2 insertPage  ran now']);
    expect(samplePattern('at +0.21 s: x ...').test('at +1.13 s: x and more')).toBe(true);
    expect(samplePattern('a 2025-06-01T10:00:00.000Z b').test('a 2026-12-01T21:52:07.182Z b')).toBe(true);
  });
});

const LESSONS: { lesson: string; args: string[]; readme?: string }[] = [
  { lesson: 'ex1', args: ['experiments/ex1.ts'] },
  { lesson: 'ex2', args: ['experiments/ex2.ts'], readme: 'attempt 1/3 at ' },
  { lesson: 'ex3', args: ['scripts/loop.ts', 'ex3'], readme: '--- loop: run 1 of at most 20: ex3' },
  { lesson: 'ex4', args: ['scripts/loop.ts', 'ex4'], readme: 'execution begins: analyzed_at' },
  { lesson: 'ex5', args: ['experiments/ex5.ts'] },
  { lesson: 'ex6', args: ['scripts/loop.ts', 'ex6'], readme: 'STARTED: new workflow' },
];

describe('sqlite: each lesson prints what its header and the README say', () => {
  for (const { lesson, args, readme } of LESSONS) {
    it.concurrent(`${lesson}: the header's sample${readme ? ' and the README\'s' : ''} match a real run`, async () => {
      const header = headerSample(lesson);
      expect(header.length, `${lesson}'s header has no | lines under "What it prints"`).toBeGreaterThan(2);
      const output = await run(args);
      expect(missingFromOutput(header, output), `${lesson}'s header says lines that the run did not print:\n${output}`).toEqual([]);
      if (readme) expect(missingFromOutput(readmeSample(readme), output), `the README's sample of ${lesson}:\n${output}`).toEqual([]);
    });
  }
});
