// npm run -s pg:url: prints the URL of the embedded PostgreSQL in data/pg, starting it if needed, so
// that `psql "$(npm run -s pg:url)"` opens the lessons' database. It stays up until npm run pg:stop.
// The URL holds the server's port. The server keeps its port across restarts (data/pg.port), so the
// URL stays right unless another program took that port meanwhile: then run pg:url again.
import { join } from 'node:path';
import { dataDir } from '../lib/config.js';
import { ensureDatabase, ensureEmbeddedPostgres } from '../lib/storage/embedded-pg.js';

const server = await ensureEmbeddedPostgres(join(dataDir(), 'pg'));
console.log(await ensureDatabase(server.adminUrl, 'workbook'));
if (process.stderr.isTTY) {
  process.stderr.write(`(the server in ${server.dir} stays up until npm run pg:stop; it keeps port ${server.port} when it restarts, ` +
    'unless another program took the port: then run npm run -s pg:url again)\n');
}
