// npm run pg:stop: stops the embedded PostgreSQL of data/pg, and every server the workbook started
// that nothing else can reach any more (its data directory was removed while it ran: pg_ctl cannot
// stop it, a signal can). Other servers of ours that are still running (a test run's, another
// checkout's, another WORKBOOK_DATA_DIR's) are listed with how to stop them; --all stops them too.
//   npm run pg:stop              data/pg and the orphans
//   npm run pg:stop -- --all     every embedded PostgreSQL the workbook started on this machine
import { join } from 'node:path';
import { dataDir } from '../lib/config.js';
import { stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';
import { ourServers, serves, stopBySignal } from '../lib/storage/pg-servers.js';

const args = process.argv.slice(2);
const all = args.includes('--all');
if (args.some((a) => a !== '--all')) {
  process.stderr.write(`BAD INPUT: pg:stop takes only --all (got: ${args.join(' ')}). npm run pg:stop stops data/pg's server and any orphan; --all every server the workbook started.\n`);
  process.exit(2);
}
const dir = join(dataDir(), 'pg');
const ours = ourServers().find((s) => s.dirHoldsIt && serves(s, dir));
await stopEmbeddedPostgres(dir);
console.log(ours ? `embedded PostgreSQL in ${dir} (port ${ours.port}): stopped` : `embedded PostgreSQL in ${dir}: was not running`);

let left = 0;
for (const s of ourServers()) {
  if (!s.dirHoldsIt) {
    const gone = await stopBySignal(s.pid);
    console.log(`embedded PostgreSQL on port ${s.port} (process ${s.pid}): its data directory ${s.dir} was removed while it ran; ` +
      (gone ? 'stopped' : 'it did not stop: kill it with kill -QUIT ' + s.pid));
    if (!gone) left++;
  } else if (all) {
    await stopEmbeddedPostgres(s.dir);
    console.log(`embedded PostgreSQL in ${s.dir} (port ${s.port}): stopped`);
  } else {
    console.log(`still running: embedded PostgreSQL in ${s.dir} (port ${s.port}, process ${s.pid}), another data directory ` +
      `(a test run, another checkout or WORKBOOK_DATA_DIR). Stop it with WORKBOOK_DATA_DIR=${s.dir.replace(/\/pg$/, '')} npm run pg:stop, or npm run pg:stop -- --all`);
    left++;
  }
}
if (left === 0) console.log('no other embedded PostgreSQL of the workbook is running.');
