// npm run pg:stop: stops the embedded PostgreSQL of data/pg if one is running (WORKBOOK_PG_KEEP=1 left it up).
import { join } from 'node:path';
import { dataDir } from '../lib/config.js';
import { stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';

const dir = join(dataDir(), 'pg');
await stopEmbeddedPostgres(dir);
console.log(`embedded PostgreSQL in ${dir}: stopped (or was not running)`);
