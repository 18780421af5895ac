// npm run -s pg:url: prints the URL of the embedded PostgreSQL in data/pg, starting it if needed, so
// that `psql "$(npm run -s pg:url)"` opens the lessons' database. It stays up until npm run pg:stop.
import { join } from 'node:path';
import { dataDir } from '../lib/config.js';
import { ensureDatabase, ensureEmbeddedPostgres } from '../lib/storage/embedded-pg.js';

const server = await ensureEmbeddedPostgres(join(dataDir(), 'pg'));
console.log(await ensureDatabase(server.adminUrl, 'workbook'));
