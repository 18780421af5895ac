// The web page's server (npm run ui, scripts/ui.ts): Hono on Node's http server, bound to 127.0.0.1.
// It serves the page (lib/ui/public/) and vis-timeline from node_modules (never a CDN: it works
// offline), and JSON read from the system database (lib/ui/data.ts). Read-only unless started with
// --allow-actions; then POST /api/workflows/:id/resume|cancel runs what `npm run wf -- resume|cancel`
// runs (lib/wf/actions.ts), and only for a request from the page itself (same Host and Origin, JSON).
// Every request must name this server as its Host (127.0.0.1:port or localhost:port), so that a web
// page elsewhere cannot read it through a DNS name that points here (DNS rebinding).
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import { isBadInput } from '../lesson.js';
import { printable } from '../printable.js';
import type { SystemDatabase } from '../storage/types.js';
import { cancel, resume } from '../wf/actions.js';
import { listWorkflowsView, queuesView, schedulesView, workflowView } from './data.js';

export interface UiOptions {
  /** the database, or undefined while it does not exist yet (`waiting` says where it will be) */
  db: () => SystemDatabase | undefined;
  /** where the database is, password masked (SystemDatabase.description) */
  description: () => string;
  waiting?: () => string | undefined;
  /** the application (--app), or undefined for all of them */
  app?: string;
  allowActions: boolean;
  /** the port, once listening: requests must name it in their Host */
  port: () => number;
  /** the command line for wf, for the messages resume and cancel print */
  wfArgs: string;
}

const rel = (p: string) => relative(process.cwd(), join(PROJECT_ROOT, p)) || '.';
const SINCE: Record<string, number> = { s: 1e3, m: 6e4, h: 36e5, d: 864e5 };

export function createUiApp(o: UiOptions): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const host = c.req.header('host') ?? '';
    const port = o.port();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return c.text(`refused: this server answers only to http://127.0.0.1:${port}/ (Host was ${printable(host)})`, 421);
    }
    await next();
  });
  app.use('*', secureHeaders({
    // Scripts and data from this server only; vis-timeline sets style attributes, hence 'unsafe-inline' for styles.
    contentSecurityPolicy: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'], frameAncestors: ["'none'"] },
  }));
  app.use('/vendor/vis-timeline/*', serveStatic({ root: rel('node_modules/vis-timeline/standalone/umd'), rewriteRequestPath: (p) => p.replace(/^\/vendor\/vis-timeline/, '') }));
  app.use('/static/*', serveStatic({ root: rel('lib/ui/public'), rewriteRequestPath: (p) => p.replace(/^\/static/, '') }));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/', serveStatic({ path: rel('lib/ui/public/index.html') }));

  const needDb = () => {
    const db = o.db();
    if (!db) throw Object.assign(new Error(o.waiting?.() ?? 'the database is not open'), { status: 503 });
    return db;
  };
  app.onError((err, c) => {
    const status = (err as { status?: number }).status ?? (isBadInput(err) ? 400 : 500);
    return c.json({ error: printable(err.message) }, status as 400);
  });

  app.get('/api/info', (c) => c.json({ database: printable(o.description()), app: o.app ?? null, allowActions: o.allowActions, waiting: o.waiting?.() ?? null }));
  app.get('/api/workflows', async (c) => {
    const q = c.req.query();
    const since = /^(\d+)\s*([smhd])$/.exec(q.since ?? '');
    return c.json(await listWorkflowsView(needDb(), {
      app: o.app, status: q.status, name: q.name, limit: q.limit ? Number(q.limit) || 50 : 50,
      sinceMs: since ? Number(since[1]) * SINCE[since[2]] : undefined,
    }));
  });
  app.get('/api/workflows/:id', async (c) => {
    const view = await workflowView(needDb(), c.req.param('id'));
    return view ? c.json(view) : c.json({ error: `no workflow with id ${printable(c.req.param('id'))}` }, 404);
  });
  app.get('/api/queues', async (c) => c.json(await queuesView(needDb())));
  app.get('/api/schedules', async (c) => c.json(await schedulesView(needDb(), o.app)));

  app.post('/api/workflows/:id/:action{resume|cancel}', async (c) => {
    if (!o.allowActions) {
      return c.json({ error: 'refused: this page is read-only. Start it with npm run ui -- --allow-actions to resume and cancel from it (or use npm run wf -- resume|cancel <id>).' }, 403);
    }
    const origin = c.req.header('origin');
    if (origin !== `http://${c.req.header('host')}` || !c.req.header('content-type')?.startsWith('application/json')) {
      return c.json({ error: 'refused: actions come only from this page (same origin, JSON).' }, 403);
    }
    const lines: string[] = [];
    const again = (cmd: string) => `npm run wf -- ${cmd} <id>${o.wfArgs}`;
    const db = needDb();
    const id = c.req.param('id');
    if (c.req.param('action') === 'resume') await resume(db, id, {}, (t) => lines.push(t), again);
    else await cancel(db, id, (t) => lines.push(t), again);
    return c.json({ message: lines.join('\n') });
  });
  return app;
}
