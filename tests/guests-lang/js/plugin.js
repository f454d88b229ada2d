// jsnote: a portagent plugin in JavaScript (componentize-js), a test guest.
//
// It owns the `jsnote` section of a state file:
//
//     plugins:
//       jsnote:
//         notes: {rack: r12}
//
// and keeps each note as `external_ids:jsnote:KEY=VALUE` of OVS's
// Open_vSwitch row through the `ovsdb` capability (scope: Open_vSwitch).
// Keys without the prefix belong to others and are never touched.
//
// `sabotage` is for tests: `verify` makes apply write a wrong value (verify
// finds the mismatch and the host rolls the whole apply back); `throw`
// makes apply throw an Error the host must show.

import { transact as ovsdbTransact } from 'portagent:plugin/ovsdb@0.2.0';
import { log } from 'portagent:plugin/log@0.2.0';

const PREFIX = 'jsnote:';

// A `result` error is returned by throwing an object whose `payload` is
// the WIT variant.
function invalid(field, message) {
  return { payload: { tag: 'invalid', val: { field, message } } };
}
function failed(message) {
  return { payload: { tag: 'failed', val: message } };
}

function parse(desired) {
  let section;
  try {
    section = desired.trim() ? JSON.parse(desired) : {};
  } catch (e) {
    throw invalid('', `not JSON: ${e.message}`);
  }
  section = section ?? {};
  if (typeof section !== 'object' || Array.isArray(section)) {
    throw invalid('', 'expected a mapping with `notes`');
  }
  const unknown = Object.keys(section).filter((k) => k !== 'notes' && k !== 'sabotage').sort();
  if (unknown.length) throw invalid(unknown[0], 'unknown field (expected `notes`)');
  const notes = section.notes ?? {};
  if (typeof notes !== 'object' || Array.isArray(notes)) {
    throw invalid('notes', 'expected a mapping of KEY: VALUE');
  }
  for (const [key, value] of Object.entries(notes)) {
    if (!/^[a-z0-9_-]+$/.test(key)) throw invalid(`notes.${key}`, 'a key is lower-case letters, digits, - and _');
    if (typeof value !== 'string') throw invalid(`notes.${key}`, `expected a string, got ${JSON.stringify(value)}`);
  }
  const sabotage = section.sabotage ?? null;
  if (![null, 'verify', 'throw'].includes(sabotage)) throw invalid('sabotage', 'expected `verify` or `throw`');
  return { notes, sabotage };
}

function transact(operations) {
  try {
    return JSON.parse(ovsdbTransact('Open_vSwitch', JSON.stringify(operations)));
  } catch (e) {
    const why = e.payload ? e.payload.val : String(e);
    throw failed(`ovsdb: ${why}`);
  }
}

function liveNotes() {
  const result = transact([{ op: 'select', table: 'Open_vSwitch', where: [], columns: ['external_ids'] }]);
  const rows = result[0].rows ?? [];
  if (!rows.length) throw failed('ovsdb: the Open_vSwitch table has no row');
  const notes = {};
  for (const [k, v] of rows[0].external_ids[1]) {
    if (k.startsWith(PREFIX)) notes[k.slice(PREFIX.length)] = v;
  }
  return notes;
}

// One transaction: drop the keys in `remove`, then set `insert`.
function writeNotes(remove, insert) {
  const mutations = [];
  if (remove.length) mutations.push(['external_ids', 'delete', ['set', remove.map((k) => PREFIX + k)]]);
  const pairs = Object.entries(insert).map(([k, v]) => [PREFIX + k, v]);
  if (pairs.length) mutations.push(['external_ids', 'insert', ['map', pairs]]);
  if (mutations.length) transact([{ op: 'mutate', table: 'Open_vSwitch', where: [], mutations }]);
}

function sorted(obj) {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

export const plugin = {
  describe() {
    return {
      name: 'jsnote',
      version: '0.1.0',
      section: 'jsnote',
      capabilities: [
        { name: 'ovsdb', scope: ['Open_vSwitch'], reason: 'to keep notes in external_ids' },
        { name: 'log', scope: [], reason: 'to say what it changed' },
      ],
      after: ['net'],
    };
  },
  validate(desired) {
    parse(desired);
  },
  query() {
    return JSON.stringify({ notes: sorted(liveNotes()) });
  },
  diff(current, desired) {
    const have = parse(current).notes;
    const { notes: want, sabotage } = parse(desired);
    const actions = [];
    for (const key of Object.keys(want).sort()) {
      if (have[key] === want[key]) continue;
      const kind = key in have ? 'modify' : 'create';
      const body = { value: want[key] + (sabotage === 'verify' ? '-sabotaged' : '') };
      if (sabotage === 'throw') body.throw = `jsnote was asked to throw (note ${key})`;
      actions.push({ kind, resource: key, body: JSON.stringify(body) });
    }
    for (const key of Object.keys(have).sort()) {
      if (!(key in want)) actions.push({ kind: 'delete', resource: key, body: 'null' });
    }
    return actions;
  },
  apply(actions) {
    const insert = {};
    for (const a of actions) {
      if (a.kind === 'delete') continue;
      const body = JSON.parse(a.body);
      if (body.throw) throw new Error(body.throw);
      insert[a.resource] = body.value;
    }
    writeNotes(actions.map((a) => a.resource), insert);
    for (const a of actions) log('info', `note ${a.resource}: ${a.kind}`);
    return actions.map((a) => PREFIX + a.resource);
  },
  verify(desired) {
    const want = parse(desired).notes;
    const have = liveNotes();
    const keys = [...new Set([...Object.keys(want), ...Object.keys(have)])].sort();
    return keys
      .filter((k) => want[k] !== have[k])
      .map((k) => ({
        resource: PREFIX + k,
        field: 'value',
        expected: JSON.stringify(want[k] ?? null),
        actual: JSON.stringify(have[k] ?? null),
      }));
  },
  checkpoint() {
    return new TextEncoder().encode(JSON.stringify(sorted(liveNotes())));
  },
  restore(checkpoint) {
    const saved = JSON.parse(new TextDecoder().decode(checkpoint));
    writeNotes(Object.keys(liveNotes()), saved);
  },
};
