// The outside faults of the chaos torture (lib/torture/chaos.ts), each a real one an operator meets:
//
//   PostgreSQL (its own embedded server, so that it may be restarted):
//     restart-immediate  pg_ctl stop -m immediate (the server dies, no shutdown checkpoint), down for
//                        a moment, then pg_ctl start on the same port and data directory
//     restart-fast       pg_ctl stop -m fast (sessions are ended, a clean shutdown), then start again
//     terminate          pg_terminate_backend() on every session of the workload's database
//   SQLite:
//     lock               another connection (in this process) runs BEGIN IMMEDIATE and holds the
//                        write lock past the engine's busy timeout (5 s), then rolls back
//     disk-full          the SQLite file lives on a small tmpfs mounted for the run; a filler file
//                        takes all its free space for a moment, then is removed. Needs mount(8) as
//                        root; where that is refused, the fault is skipped and the run says why.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export type ChaosFault = 'restart-immediate' | 'restart-fast' | 'terminate' | 'lock' | 'disk-full';

/** How the embedded server in `dir` was started: its port and its pg_ctl, read from its own files. */
function serverFacts(dir: string): { port: number; pgCtl: string; ids: { uid?: number; gid?: number } } {
  const port = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  // postmaster.opts starts with the postgres binary's path; pg_ctl sits beside it.
  const postgres = /^(\S+)/.exec(readFileSync(join(dir, 'postmaster.opts'), 'utf8'))![1];
  // As root the server runs as the user who owns the data directory (lib/storage/embedded-pg.ts).
  const st = statSync(dir);
  const ids = process.getuid?.() === 0 ? { uid: st.uid, gid: st.gid } : {};
  return { port, pgCtl: join(dirname(postgres), 'pg_ctl'), ids };
}

export class PostgresChaos {
  private port = 0;
  private pgCtl = '';
  private ids: { uid?: number; gid?: number } = {};

  constructor(private readonly dir: string, private readonly adminUrl: string, readonly database: string) {}

  /** Reads the server's facts while it is up (call once, after it started). */
  init(): void {
    ({ port: this.port, pgCtl: this.pgCtl, ids: this.ids } = serverFacts(this.dir));
  }

  private pgCtlRun(args: string[]): void {
    const r = spawnSync(this.pgCtl, ['-D', this.dir, ...args], { ...this.ids, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pg_ctl ${args.join(' ')} failed: ${r.error?.message ?? (r.stderr || r.stdout)}`);
  }

  /** Stops the server in `mode`, leaves it down `downMs`, starts it again on the same port. */
  async restart(mode: 'immediate' | 'fast', downMs: number): Promise<string> {
    this.pgCtlRun(['-m', mode, '-w', '-t', '60', 'stop']);
    await sleep(downMs);
    this.start();
    return `pg_ctl stop -m ${mode}, down ${downMs} ms, started again on port ${this.port}`;
  }

  start(): void {
    this.pgCtlRun(['-l', join(this.dir, 'server.log'), '-w', '-t', '60', '-o',
      `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`, 'start']);
  }

  /** pg_terminate_backend on every session of the workload's database. */
  async terminate(): Promise<string> {
    const client = new pg.Client({ connectionString: this.adminUrl, application_name: 'chaos' });
    client.on('error', () => undefined); // a restart may end this session too
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        [this.database],
      );
      return `pg_terminate_backend: ${rows[0].n} session(s) ended`;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Holds SQLite's write lock from another connection for `holdMs` (longer than the busy timeout). */
export async function holdSqliteLock(file: string, holdMs: number): Promise<string> {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 30000'); // we wait for the lock as long as it takes; the engine does not
    const t0 = Date.now();
    db.exec('BEGIN IMMEDIATE');
    const waited = Date.now() - t0;
    await sleep(holdMs); // async: the transaction stays open, this process goes on
    db.exec('ROLLBACK');
    return `BEGIN IMMEDIATE held ${holdMs} ms (got it after ${waited} ms)`;
  } finally {
    db.close();
  }
}

/** A small tmpfs for the SQLite file, so that the disk can be filled; undefined (and why) where mount is refused. */
export function mountSmallDisk(dir: string, sizeMb: number): { unmount: () => void } | { why: string } {
  if (process.platform !== 'linux') return { why: `tmpfs needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { why: 'mounting a tmpfs needs root' };
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return { why: `mount -t tmpfs was refused: ${(r.error?.message ?? r.stderr).trim()}` };
  return { unmount: () => void spawnSync('umount', ['-l', dir]) };
}

/** Fills the filesystem of `dir` to the last byte, holds it full `holdMs`, then frees it. */
export async function fillDisk(dir: string, holdMs: number): Promise<string> {
  const filler = join(dir, 'chaos-filler');
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  let bytes = 0;
  const fd = openSync(filler, 'w');
  try {
    for (let size = chunk.length; size >= 512; ) {
      try {
        bytes += writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOSPC') throw err;
        size >>= 1; // the last few blocks, in smaller writes
      }
    }
  } finally {
    closeSync(fd);
  }
  await sleep(holdMs);
  rmSync(filler, { force: true });
  return `disk filled (${(bytes / 1048576).toFixed(1)} MB of filler) for ${holdMs} ms`;
}
