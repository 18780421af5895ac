// The workbook's own mutants: each breaks one central claim on purpose, in one line, and names the
// tests that must then fail. `npm run mutants` (scripts/mutants.ts) applies each to a copy of the
// project and runs those tests: a mutant the tests survive is a claim nobody checks.
//
// `find` is one short line of the code as it is now, found exactly once in `file`: when the code
// moves, the mutant stops applying and the run fails loudly, so the table is kept up to date with
// the code. `quick` mutants run in the test suite (test/95-mutants.test.ts): SQLite, a few seconds each.
// The mutants of the capabilities that landed later (queues, messages, sleep, schedules, transaction
// steps, leases, redaction, transient faults, damaged rows) are in capabilities.ts, at the end of the list.

import { CAPABILITY_MUTANTS } from './capabilities.js';

export interface Mutant {
  /** a short name, for --only */
  id: string;
  /** the claim the mutant breaks, in the words of the README and docs/DESIGN.md */
  claim: string;
  file: string;
  /** one line (or part of one) of `file`, present exactly once */
  find: string;
  replace: string;
  /** the test files that must fail */
  tests: string[];
  /** only the tests whose name matches (vitest -t), to keep the run short */
  testName?: string;
  /** which database the tests run on (WORKBOOK_TEST_DB); 'both' runs them on both */
  db: 'sqlite' | 'postgres' | 'both';
  /** part of the quick subset that runs in `npm test` */
  quick?: boolean;
}

export const MUTANTS: Mutant[] = [
  {
    id: 'ex6-count-constant',
    claim: "ex6 counts its unique users in the database: exactly 1,000, and another number when the data holds another",
    file: 'experiments/ex6.ts',
    find: 'const unique = await users().countUnique(id);',
    replace: 'const unique = 1000;',
    tests: ['test/55-ex6.test.ts'],
    testName: 'different ids',
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'ex6-count-partition',
    claim: "ex6's window function partitions by (id, workflow_id): a crashed run's copies, another analyzed_at, are the same users",
    file: 'lib/users-table.ts',
    find: 'PARTITION BY id, workflow_id ORDER BY created_at DESC',
    replace: 'PARTITION BY id, workflow_id, analyzed_at ORDER BY created_at DESC',
    tests: ['test/55-ex6.test.ts'],
    testName: 'different ids',
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'fence-owner',
    claim: 'the fence: a write counts only while its execution (executor and attempt) still owns the workflow (SQLite)',
    file: 'lib/storage/hot-sql.ts',
    find: "const FENCE = `status = 'PENDING' AND ${OWNER}`;",
    // The placeholders stay (their parameters are still sent): only the check is gone.
    replace: "const FENCE = `status = 'PENDING' AND (${OWNER} OR 1 = 1)`;",
    tests: ['test/62-fence.test.ts'],
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'fence-owner-pg',
    claim: 'the fence, on PostgreSQL: a paused, taken-over process cannot record a step the new owner has not',
    file: 'lib/storage/hot-sql.ts',
    find: "const FENCE = `status = 'PENDING' AND ${OWNER}`;",
    // The placeholders stay (their parameters are still sent): only the check is gone.
    replace: "const FENCE = `status = 'PENDING' AND (${OWNER} OR 1 = 1)`;",
    tests: ['test/62-fence.test.ts'],
    db: 'postgres',
  },
  {
    id: 'claim-compare-and-set',
    claim: 'a claim is a compare-and-set on the recovery count: of two processes that saw the same row, one wins',
    file: 'lib/storage/hot-sql.ts',
    find: "WHERE workflow_uuid = ? AND status = 'PENDING' AND recovery_attempts = ?`,",
    replace: "WHERE workflow_uuid = ? AND status = 'PENDING' AND recovery_attempts >= ?`,",
    tests: ['test/62-fence.test.ts'],
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'claim-compare-and-set-race',
    claim: 'the same, with real processes racing to recover after SIGKILLs (PostgreSQL)',
    file: 'lib/storage/hot-sql.ts',
    find: "WHERE workflow_uuid = ? AND status = 'PENDING' AND recovery_attempts = ?`,",
    replace: "WHERE workflow_uuid = ? AND status = 'PENDING' AND recovery_attempts >= ?`,",
    tests: ['test/62-fence.test.ts', 'test/61-concurrent-recovery.test.ts'],
    db: 'postgres',
  },
  {
    id: 'claim-result',
    claim: 'a claim that changed no row took nothing',
    file: 'lib/storage/sql.ts',
    find: 'if (changed === 1) return seenAttempts + 1;',
    replace: 'return seenAttempts + 1;',
    tests: ['test/62-fence.test.ts'],
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'redact-userinfo',
    claim: 'nothing prints a password: the userinfo of a URL is masked',
    file: 'lib/redact.ts',
    find: 'return `${m[1]}${userinfo.slice(0, colon)}:${MASK}${rest.slice(at)}`;',
    replace: 'return url;',
    tests: ['test/16-redact.test.ts'],
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'redact-query',
    claim: 'nothing prints a password: ?password= in a URL is masked',
    file: 'lib/redact.ts',
    find: 'return text.replace(QUERY, `$1${MASK}`)',
    replace: 'return text',
    tests: ['test/16-redact.test.ts'],
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'redact-description',
    claim: "nothing prints a password: the PostgreSQL database's description (wf, the debug log, reports)",
    file: 'lib/storage/postgres.ts',
    find: 'new PostgresDriver(pool, `PostgreSQL ${redactUrl(opts.url)}',
    replace: 'new PostgresDriver(pool, `PostgreSQL ${opts.url}',
    tests: ['test/72-secrets.test.ts'],
    testName: 'description',
    db: 'postgres',
  },
  {
    id: 'replay-recorded',
    claim: 'promise 2: a recorded step is replayed from its record, its body not run again',
    file: 'lib/engine.ts',
    find: '  if (rec !== undefined) return replay<R>(rec); // recorded: replay it (promise 2)',
    replace: '  if (rec !== undefined && Math.random() > 2) return replay<R>(rec);',
    tests: ['test/11-promises.test.ts'],
    testName: 'promise 2',
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'replay-recorded-crash',
    claim: 'promise 7: after a real SIGKILL or abort, no recorded step runs again',
    file: 'lib/engine.ts',
    find: '  if (rec !== undefined) return replay<R>(rec); // recorded: replay it (promise 2)',
    replace: '  if (rec !== undefined && Math.random() > 2) return replay<R>(rec);',
    tests: ['test/40-crash-recovery.test.ts'],
    db: 'both',
  },
  {
    id: 'dead-letter-count',
    claim: 'promise 6: past maxRecoveryAttempts recoveries the workflow is parked (the dead letter), not run again',
    file: 'lib/claim.ts',
    find: 'if (attempt > reg.maxRecoveryAttempts + 1) {',
    replace: 'if (attempt > reg.maxRecoveryAttempts + 2) {',
    tests: ['test/11-promises.test.ts'],
    testName: 'promise 6',
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'dead-letter-count-ex3',
    claim: "ex3's loop: the 5th run parks the workflow and prints DEAD_LETTER",
    file: 'lib/claim.ts',
    find: 'if (attempt > reg.maxRecoveryAttempts + 1) {',
    replace: 'if (attempt > reg.maxRecoveryAttempts + 2) {',
    tests: ['test/53-loop.test.ts', 'test/51-ex3.test.ts'],
    db: 'sqlite',
  },
  {
    id: 'recovery-query-per-step',
    claim: "recovery reads a workflow's recorded steps in one query, whatever their number (the bench's O(1) figure)",
    file: 'lib/engine.ts',
    find: '  const rec = takeRecorded(ctx, functionID, name);',
    replace: '  const rec = takeRecorded(ctx, functionID, name); await db().getWorkflow(ctx.workflowID);',
    tests: ['test/91-recovery-queries.test.ts'],
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'harness-crash-points',
    claim: 'the crash-test harness tries every crash point: before and after each recorded step',
    file: 'lib/harness/index.ts',
    find: "w.ops.flatMap((o) => whens.filter((when) => when !== 'end').map((when) =>",
    replace: "w.ops.flatMap((o) => whens.filter((when) => when !== 'end').slice(0, 1).map((when) =>",
    tests: ['test/80-harness.test.ts'],
    testName: 'passes the fixed order',
    db: 'sqlite',
  },
  {
    id: 'torture-rerun-count',
    claim: "the torture's checker counts a step run again after a death before its recording as a re-run",
    file: 'lib/torture/invariants.ts',
    find: 'out.reRuns += executions.length - 1;',
    replace: 'out.reRuns += 0;',
    tests: ['test/60-torture.test.ts'],
    testName: 'each other kind',
    db: 'sqlite',
    quick: true,
  },
  {
    id: 'ex5-time-split',
    claim: "ex5 splits the time into the lesson's work and the engine's overhead, which add up to the total",
    file: 'experiments/ex5.ts',
    find: 'const engine = total - lesson;',
    replace: 'const engine = total - ms.generate;',
    tests: ['test/54-ex5.test.ts'],
    testName: '1,000 users',
    db: 'sqlite',
  },
  {
    id: 'group-commit',
    claim: "SQLite's group commit: writes sent in the same turn share one transaction (seen in the WAL, not in the engine's own counters)",
    file: 'lib/storage/sqlite.ts',
    find: 'outcomes = writes.length === 1 ? runEach() : this.db.transaction(runEach).immediate();',
    replace: 'outcomes = runEach();',
    tests: ['test/13-group-commit.test.ts'],
    testName: 'outside the engine',
    db: 'sqlite',
    quick: true,
  },
  ...CAPABILITY_MUTANTS,
];
