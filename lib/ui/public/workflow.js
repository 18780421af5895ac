// One workflow: its timeline (vis-timeline: one lane per execution, a bar per recorded step, the gap
// where a process died, the moment recovery took over and what it replayed), its steps, values,
// children, events and messages. Every label is a DOM element built with text nodes (dom.js), never
// a string vis-timeline would read as markup.
import { clock, getJson, h, status, table, time, wfLink } from './dom.js';

const KIND = {
  ran: 'ran',
  retried: 'ran, after failed attempts (step retries)',
  failed: 'failed (every attempt)',
  rerun: 'ran again after a crash: the run before died without recording it',
};
let shown = { key: null, json: null, timeline: null, userZoomed: false, said: null, gaps: 0 };

function laneLabel(lane, wf) {
  const ex = lane.executorKey !== null && wf.executor ? wf.executor : null;
  const who = ex ? `executor ${ex.id}${ex.pid ? ` · pid ${ex.pid}` : ''}${ex.alive === false ? ' (process gone)' : ex.alive ? ' (alive)' : ''}`
    : lane.executor ? `executor ${lane.executor}` : 'executor not kept (the row keeps the latest only)';
  return h('div', { className: 'lane' }, h('strong', {}, `run ${lane.attempt}`), ` ${lane.attempt === 1 ? 'first run' : `recovery ${lane.attempt - 1}`}`,
    h('div', { className: 'muted small' }, who), lane.silent ? h('div', { className: 'muted small' }, 'recorded no step of its own') : null);
}

function itemsOf(d) {
  const steps = new Map(d.steps.map((s) => [s.functionID, s]));
  const items = [];
  for (const lane of d.lanes) {
    for (const r of lane.recorded) {
      const s = steps.get(r.functionID);
      const label = `#${s.functionID} ${s.name}${s.attempts > 1 ? ` ×${s.attempts}` : ''}${r.kind === 'rerun' ? ' ↻ ran again' : ''}${r.kind === 'failed' ? ' ✗' : ''}`;
      items.push({
        id: `s${s.functionID}`, group: lane.attempt, start: s.start, end: Math.max(s.end, s.start + 1), type: 'range', className: `step ${r.kind}`,
        content: h('span', {}, label),
        title: h('div', {}, `#${s.functionID} ${s.name}: ${KIND[r.kind]}`, h('br'), `run ${lane.attempt}, ${s.attempts} attempt(s), took ${s.took}`,
          s.error ? [h('br'), ...s.error.flatMap((l) => [l, h('br')])] : null),
      });
    }
    if (lane.replayed.length && lane.takeover !== null) {
      const ids = lane.replayed;
      items.push({
        id: `r${lane.attempt}`, group: lane.attempt, start: lane.takeover, type: 'point', className: 'replayed',
        content: h('span', {}, `⟲ took over, replayed ${ids.length} step${ids.length > 1 ? 's' : ''} (#${ids[0]}–#${ids.at(-1)})`),
        title: h('div', {}, `run ${lane.attempt} took over by ${clock(lane.takeover)} and replayed the recorded outcomes of steps ${ids.join(', ')}: read back, not run again`),
      });
    }
  }
  const cut = cuts(d);
  d.gaps.forEach((g, i) => items.push({
    id: `g${i}`, start: g.start, end: Math.max(g.end, g.start + 1), type: 'background', className: 'gap',
    content: h('span', {}, `run ${g.after ?? '?'} died · ${g.took} until run ${g.before} took over`,
      cut.some((c) => c.start >= g.start && c.end <= g.end) ? h('span', { className: 'muted' }, ' (the axis skips its middle)') : null),
  }));
  if (d.workflow.finished && d.lanes.length) {
    items.push({ id: 'end', group: d.lanes.at(-1).attempt, start: d.workflow.updatedAt, type: 'point', className: `end s-${d.workflow.status}`, content: h('span', {}, d.workflow.status) });
  }
  return items;
}

function stepRows(d) {
  const ranIn = new Map();
  for (const l of d.lanes) for (const r of l.recorded) ranIn.set(r.functionID, { run: l.attempt, kind: r.kind });
  const replayedIn = new Map();
  for (const l of d.lanes) for (const f of l.replayed) replayedIn.set(f, [...(replayedIn.get(f) ?? []), l.attempt]);
  return d.steps.map((s) => {
    const ran = ranIn.get(s.functionID);
    const rep = replayedIn.get(s.functionID) ?? [];
    return h('tr', { className: `step-row ${ran?.kind ?? ''}` }, h('td', { className: 'num' }, s.functionID), h('td', {}, s.name),
      h('td', {}, ran ? `run ${ran.run}: ${KIND[ran.kind]}` : '-'),
      h('td', { className: rep.length ? 'replayed-cell' : '' }, rep.length ? `replayed in run ${rep.join(', ')}` : '-'),
      h('td', { className: 'num' }, s.attempts), h('td', {}, s.took),
      h('td', {}, s.child ? ['child ', wfLink(s.childKey, s.child)] : s.error ? h('span', { className: 'err' }, s.error.join(' | ')) : h('code', {}, s.output ?? 'undefined')));
  });
}

function details(d, info) {
  const w = d.workflow;
  const kv = (k, ...v) => h('tr', {}, h('th', {}, k), h('td', {}, ...v));
  const ex = w.executor;
  const actions = h('div', { className: 'actions' });
  if (info.allowActions) {
    for (const a of ['resume', 'cancel']) {
      actions.append(h('button', { onclick: async () => {
        const out = await getJson(`/api/workflows/${encodeURIComponent(w.key)}/${a}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
          .then((r) => r.message, (e) => e.message);
        shown.said = out; // kept across the redraws that follow
        actions.querySelector('.said')?.remove();
        actions.append(h('p', { className: 'said' }, out));
      } }, a));
    }
  }
  if (shown.said) actions.append(h('p', { className: 'said' }, shown.said));
  return [
    h('table', { className: 'kv' },
      kv('status', status(w.status), w.damaged ? h('span', { className: 'err' }, ` damaged row: ${w.damaged}`) : null),
      kv('name', w.name), kv('application', `${w.applicationID ?? '?'} (version ${w.applicationVersion ?? '?'})`),
      kv('executions', `${w.recoveryAttempts} (recovery_attempts)`),
      kv('executor', ex ? `${ex.id}${ex.host ? ` on ${ex.host}` : ''}${ex.pid ? `, pid ${ex.pid}` : ''}${ex.alive === false ? ' (process gone)' : ex.alive ? ' (alive)' : ''}` : 'none'),
      kv('created', time(w.createdAt)), kv('updated', time(w.updatedAt)), kv('took', w.took ?? 'not finished'),
      w.queue ? kv('queue', w.queue) : null, w.parentKey ? kv('parent', wfLink(w.parentKey, w.parent)) : null,
      kv('inputs', h('pre', {}, w.inputs ?? 'none')),
      w.output !== null ? kv('output', h('pre', {}, w.output)) : null,
      w.error ? kv('error', h('pre', { className: 'err' }, w.error.join('\n'))) : null),
    actions,
    h('h2', {}, 'Steps'),
    d.steps.length ? table(['#', 'step', 'recorded by', 'replayed', 'attempts', 'took', 'outcome'], stepRows(d)) : h('p', { className: 'muted' }, 'no step recorded yet'),
    d.children.length ? [h('h2', {}, 'Children'), table(['status', 'workflow id', 'name', 'took'], d.children.map((c) => h('tr', {}, h('td', {}, status(c.status)), h('td', {}, wfLink(c.key, c.id)), h('td', {}, c.name), h('td', {}, c.took ?? 'running'))))] : null,
    d.events.length ? [h('h2', {}, 'Events'), table(['key', 'value'], d.events.map((e) => h('tr', {}, h('td', {}, e.key), h('td', {}, h('code', {}, e.value)))))] : null,
    d.messages.length ? [h('h2', {}, 'Messages received'), table(['topic', 'message', 'sent', 'consumed'], d.messages.map((m) => h('tr', {}, h('td', {}, m.topic ?? '-'), h('td', {}, h('code', {}, m.message)), h('td', {}, time(m.created)), h('td', {}, m.consumed ? 'yes' : 'no'))))] : null,
  ].flat(Infinity).filter(Boolean);
}

/**
 * The middle of each long crash gap, cut out of the time axis: a recovery that took 9 s after steps
 * of 100 ms would leave the steps as slivers. The cut part is drawn as a break; the gap's label
 * still says how long it was.
 */
function cuts(d) {
  const span = Math.max(1, d.tEnd - d.t0);
  const long = d.gaps.filter((g) => g.end - g.start > span * 0.25);
  const busy = Math.max(1, span - long.reduce((n, g) => n + g.end - g.start, 0));
  return long.map((g) => ({ start: new Date(g.start + busy * 0.3), end: new Date(g.end - busy * 0.3) })).filter((c) => c.end > c.start);
}

/** The workflow's time as drawn (without the cut parts), a little room left, more right for the last label. */
function windowOf(d) {
  const drawn = Math.max(50, d.tEnd - d.t0 - cuts(d).reduce((n, c) => n + (c.end - c.start), 0));
  return { start: new Date(d.t0 - drawn * 0.03), end: new Date(d.tEnd + drawn * 0.15) };
}

export async function renderWorkflow(key, info, main) {
  const d = await getJson(`/api/workflows/${encodeURIComponent(key)}`);
  const json = JSON.stringify(d);
  if (shown.key === key && shown.json === json && main.querySelector('#timeline')) return;
  // A new crash gap draws the timeline anew: vis-timeline misplaces the window when hidden dates appear under it.
  const fresh = shown.key !== key || !main.querySelector('#timeline') || shown.gaps !== d.gaps.length;
  if (fresh) {
    shown.timeline?.destroy();
    const tl = h('div', { id: 'timeline' });
    main.replaceChildren(h('h1', {}, 'Workflow ', h('span', { className: 'wfid' }, d.workflow.id)), h('div', { id: 'summary' }), tl,
      h('p', { className: 'legend' }, ...Object.keys(KIND).map((k) => h('span', { className: `step ${k}` }, k)), h('span', { className: 'replayed' }, 'replayed'), h('span', { className: 'gap' }, 'process died: no run owned it')),
      h('div', { id: 'details' }));
    shown = { key, json: null, timeline: new vis.Timeline(tl, [], [], { stack: true, orientation: 'top', margin: { item: 6 }, zoomMin: 5, groupOrder: 'id', tooltip: { followMouse: true }, hiddenDates: cuts(d), ...windowOf(d) }), userZoomed: false, said: shown.key === key ? shown.said : null, gaps: 0 };
    shown.timeline.on('rangechanged', (e) => { if (e.byUser) shown.userZoomed = true; });
    shown.gaps = d.gaps.length;
  }
  const w = d.workflow;
  const dead = !w.finished && w.executor?.alive === false;
  main.querySelector('#summary').replaceChildren(h('p', {}, status(w.status), ` ${w.name} · ${d.lanes.length} execution${d.lanes.length === 1 ? '' : 's'} · ${d.gaps.length} crash gap${d.gaps.length === 1 ? '' : 's'}`,
    dead ? h('span', { className: 'err' }, ` · its process (pid ${w.executor.pid}) is gone: the next start of the application recovers it`) : null));
  shown.timeline.setGroups(d.lanes.map((l) => ({ id: l.attempt, content: laneLabel(l, w) })));
  shown.timeline.setItems(itemsOf(d));
  shown.timeline.setOptions({ hiddenDates: cuts(d) });
  const win = windowOf(d);
  if (!shown.userZoomed && !fresh) shown.timeline.setWindow(win.start, win.end, { animation: false });
  main.querySelector('#details').replaceChildren(...details(d, info));
  shown.json = json;
}
