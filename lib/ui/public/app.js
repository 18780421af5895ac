// The page: #/ workflows, #/wf/<id> one workflow (workflow.js), #/queues, #/schedules. Each view
// asks the server again every second and is drawn again only when what it got changed, so the page
// follows a running lesson (the ex6 loop, ex7's workers) without a reload.
import { clock, getJson, h, status, table, time, wfLink } from './dom.js';
import { renderWorkflow } from './workflow.js';

const main = document.getElementById('main');
let info = { allowActions: false };
let last = '';
let timer;

function filters() {
  const p = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return { status: p.get('status') ?? '', name: p.get('name') ?? '', since: p.get('since') ?? '' };
}

function workflowRows(ws, depth = 0) {
  return ws.flatMap((w) => [
    h('tr', { className: depth ? 'child' : '' },
      h('td', {}, status(w.status)),
      h('td', { style: `padding-left:${0.5 + depth * 1.5}em` }, wfLink(w.key, w.id), w.children.length ? h('span', { className: 'muted' }, ` (${w.children.length} children)`) : null,
        w.damaged ? h('div', { className: 'err' }, `damaged row: ${w.damaged}`) : null),
      h('td', {}, w.name), h('td', {}, w.applicationVersion ?? '-'), h('td', {}, w.queue ?? '-'),
      h('td', {}, time(w.createdAt)), h('td', {}, w.took ?? 'running'), h('td', { className: 'num' }, w.recoveryAttempts)),
    ...workflowRows(w.children, depth + 1),
  ]);
}

async function listView() {
  const f = filters();
  const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v));
  const data = await getJson(`/api/workflows?${q}`);
  return () => {
    const form = h('form', { className: 'filters', onsubmit: (e) => {
      e.preventDefault();
      const fd = new FormData(e.target);
      const p = new URLSearchParams([...fd].filter(([, v]) => v));
      location.hash = `#/?${p}`;
    } },
    h('label', {}, 'status ', h('select', { name: 'status' }, ['', 'PENDING', 'ENQUEUED', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']
      .map((s) => h('option', { value: s, selected: s === f.status }, s || 'any')))),
    h('label', {}, ' name ', h('input', { name: 'name', value: f.name, size: 14 })),
    h('label', {}, ' since ', h('input', { name: 'since', value: f.since, size: 5, placeholder: '10m' })),
    h('button', {}, 'filter'));
    const rows = workflowRows(data.workflows);
    return [h('h1', {}, 'Workflows'), form,
      rows.length ? table(['status', 'workflow id', 'name', 'app version', 'queue', 'created', 'took', 'executions'], rows) : h('p', {}, 'no workflows match.'),
      data.more ? h('p', { className: 'muted' }, 'the newest only (add a filter to see others)') : null];
  };
}

async function queuesView() {
  const data = await getJson('/api/queues');
  return () => [h('h1', {}, 'Queues'), data.queues.length ? table(
    ['queue', 'waiting (ENQUEUED)', 'in flight per executor', 'ended', 'workers', 'dequeue latency (p50 / p90 / max)'],
    data.queues.map((q) => h('tr', {}, h('td', {}, q.queue), h('td', { className: 'num' }, q.enqueued),
      h('td', {}, q.pending.length ? q.pending.map((p) => h('div', {}, `${p.count} on ${p.executor ?? '?'} `, h('span', { className: p.live ? 'ok' : 'err' }, p.live ? 'live' : 'dead'))) : '0'),
      h('td', {}, Object.entries(q.ended).map(([s, n]) => `${n} ${s}`).join(', ') || '0'),
      h('td', {}, q.workers.map((w) => h('div', {}, `${w.executor} `, h('span', { className: w.live ? 'ok' : 'err' }, w.live ? 'live' : 'dead'), ` (${w.workflowNames.join(', ')})`))),
      h('td', {}, q.latency.dequeued ? `${q.latency.p50} / ${q.latency.p90} / ${q.latency.max} (${q.latency.dequeued} dequeued)` : '-'))),
  ) : h('p', {}, 'no queues: nothing was enqueued and no worker registered a queue in this database.'),
  h('p', { className: 'muted' }, 'Concurrency and rate limits are not stored: each worker passes its own when it claims work (lib/queues).'),
  ...data.queues.flatMap((q) => q.unserved.map((u) => h('p', { className: 'err' }, `WAITING: ${u.count} ENQUEUED "${u.workflowName}" on ${q.queue}: no live worker registers it.`)))];
}

async function schedulesView() {
  const data = await getJson('/api/schedules');
  return () => [h('h1', {}, 'Schedules'), data.schedules.length ? data.schedules.map((s) => h('section', {},
    h('h2', {}, s.name, ' ', h('span', { className: 'muted' }, `${s.cron} → ${s.workflowName}, ${s.status}${s.backfill ? ', backfills' : ''}`)),
    s.slots.length ? table(['slot due', 'workflow created', 'late by', 'status', 'workflow'], s.slots.map((x) => h('tr', {},
      h('td', {}, time(x.due)), h('td', {}, time(x.created)), h('td', { className: 'num' }, x.lateMs === null ? '-' : `${x.lateMs} ms`), h('td', {}, status(x.status)), h('td', {}, wfLink(x.key, x.id)))))
      : h('p', { className: 'muted' }, 'no slot fired yet'))) : h('p', {}, 'no schedules in this database.')];
}

function route() {
  const hash = location.hash || '#/';
  if (hash.startsWith('#/wf/')) return () => renderWorkflow(decodeURIComponent(hash.slice(5)), info, main);
  if (hash.startsWith('#/queues')) return queuesView;
  if (hash.startsWith('#/schedules')) return schedulesView;
  return listView;
}

async function tick(force) {
  clearTimeout(timer);
  const view = route();
  const hash = location.hash;
  try {
    const draw = await view();
    if (hash !== location.hash) return; // navigated meanwhile: that view draws itself
    const live = document.getElementById('live');
    live.textContent = `updated ${clock(Date.now())}`;
    live.className = 'muted';
    if (typeof draw === 'function') {
      const nodes = draw();
      const text = hash + nodes.map((n) => (n ? n.textContent : '')).join('\n');
      const typing = main.contains(document.activeElement) && /^(INPUT|SELECT)$/.test(document.activeElement.tagName);
      if (force || (text !== last && !typing)) {
        main.replaceChildren(...nodes.flat().filter(Boolean));
        last = text;
      }
    }
  } catch (e) {
    const live = document.getElementById('live');
    live.textContent = `${clock(Date.now())}: ${e.message}`;
    live.className = 'err';
    if (force || e.status === 404 || e.status === 503) main.replaceChildren(h('p', { className: 'err' }, e.message));
  } finally {
    if (hash === location.hash) timer = setTimeout(() => tick(false), 1000);
  }
}

window.addEventListener('hashchange', () => { last = ''; tick(true); });
info = await getJson('/api/info');
document.getElementById('db').textContent = info.database + (info.app ? ` · application ${info.app}` : ' · every application');
document.getElementById('mode').textContent = info.allowActions ? 'actions allowed' : 'read-only';
tick(true);
