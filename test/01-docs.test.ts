// The durability contract is in the project (docs/DESIGN.md), every reference to it says where
// it is, and every "promise N" cited anywhere is a promise the contract has.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';

const CONTRACT = join(PROJECT_ROOT, 'docs', 'DESIGN.md');
const SKIP = new Set(['node_modules', '.git', 'data', 'profiles']);

/** Every text file of the project that can cite the contract (sources, docs, CI files). */
function projectFiles(dir = PROJECT_ROOT): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...projectFiles(path));
    else if (/\.(ts|mts|md|yml|yaml|json)$/.test(name) && name !== 'package-lock.json') out.push(path);
  }
  return out;
}

/** The promise numbers a text cites: "promise 3", "promises 1 to 6 and 8", "promises 1-15". */
function citedPromises(text: string): number[] {
  const found: number[] = [];
  for (const m of text.matchAll(/\bpromises?\s+(\d+(?:\s*(?:,|and|to|-|–)\s*\d+)*)/gi)) {
    const parts = m[1].split(/\s*(,|and|to|-|–)\s*/);
    for (let i = 0; i < parts.length; i += 2) {
      const n = Number(parts[i]);
      if (parts[i - 1] === 'to' || parts[i - 1] === '-' || parts[i - 1] === '–') {
        for (let k = Number(parts[i - 2]) + 1; k <= n; k++) found.push(k);
      } else found.push(n);
    }
  }
  return found;
}

describe('the durability contract', () => {
  it('is in the repository at docs/DESIGN.md, with its promises numbered', () => {
    expect(existsSync(CONTRACT), 'docs/DESIGN.md is missing: README, lessons and the harness cite it').toBe(true);
    const numbers = [...readFileSync(CONTRACT, 'utf8').matchAll(/^(\d+)\. \*\*/gm)].map((m) => Number(m[1]));
    expect(numbers.length).toBeGreaterThanOrEqual(9);
  });

  it('reads the citations of a text: single promises, ranges and lists', () => {
    expect(citedPromises('see DESIGN.md, promise 3.')).toEqual([3]);
    expect(citedPromises('promises 1 to 6 and 8')).toEqual([1, 2, 3, 4, 5, 6, 8]);
    expect(citedPromises('(promises 14-15)')).toEqual([14, 15]);
    expect(citedPromises('a Promise<void>')).toEqual([]);
  });

  it('every reference names docs/DESIGN.md, and every promise cited exists there', () => {
    const promises = new Set([...readFileSync(CONTRACT, 'utf8').matchAll(/^(\d+)\. \*\*/gm)].map((m) => Number(m[1])));
    const wrongPath: string[] = [];
    const unknown: string[] = [];
    for (const file of projectFiles()) {
      if (file === CONTRACT || file.endsWith('01-docs.test.ts')) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const where = `${relative(PROJECT_ROOT, file)}:${i + 1}`;
        if (/(?<!docs\/)DESIGN\.md/.test(line)) wrongPath.push(`${where}: ${line.trim()}`);
        for (const n of citedPromises(line)) if (!promises.has(n)) unknown.push(`${where}: promise ${n}`);
      });
    }
    expect(wrongPath, 'cite the contract as docs/DESIGN.md').toEqual([]);
    expect(unknown, 'a cited promise that docs/DESIGN.md does not have').toEqual([]);
  });
});
