// __NAME__: a portagent state plugin in JavaScript (componentize-js).
//
// It owns the `__NAME__` section of a state file:
//
//     plugins:
//       __NAME__:
//         notes: {rack: r12}
//
// and keeps each note as `external_ids:__NAME__:KEY=VALUE` of OVS's
// Open_vSwitch row through the `ovsdb` capability (scope: Open_vSwitch).
// Keys without the prefix belong to others and are never touched.
//
// Replace the notes with what your plugin manages; keep the shape of each
// method (the contract is in portagent's docs/plugins.md).

import { transact as ovsdbTransact } from 'portagent:plugin/ovsdb@0.2.0';
import { log } from 'portagent:plugin/log@0.2.0';

const PREFIX = '__NAME__:';

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
  const unknown = Object.keys(section).filter((k) => k !== 'notes').sort();
  if (unknown.length) throw invalid(unknown[0], 'unknown field (expected `notes`)');
  const notes = section.notes ?? {};
  if (typeof notes !== 'object' || Array.isArray(notes)) {
    throw invalid('notes', 'expected a mapping of KEY: VALUE');
  }
  for (const [key, value] of Object.entries(notes)) {
    if (!/^[a-z0-9_-]+$/.test(key)) throw invalid(`notes.${key}`, 'a key is lower-case letters, digits, - and _');
    if (typeof value !== 'string') throw invalid(`notes.${key}`, `expected a string, got ${JSON.stringify(value)}`);
  }
  return notes;
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
      name: '__NAME__',
      version: '0.1.0',
      section: '__NAME__',
      capabilities: [
        { name: 'ovsdb', scope: ['Open_vSwitch'], reason: 'to keep notes in external_ids' },
        { name: 'log', scope: [], reason: 'to say what it changed' },
      ],
      after: ['net'],
    };
  },
  // The section's JSON Schema, for `portagent schema` and editors: the
  // same rules as `parse`.
  schema() {
    return JSON.stringify({
      type: 'object',
      additionalProperties: false,
      properties: {
        notes: {
          type: 'object',
          propertyNames: { pattern: '^[a-z0-9_-]+$' },
          additionalProperties: { type: 'string' },
        },
      },
    });
  },
  validate(desired) {
    parse(desired);
  },
  query() {
    return JSON.stringify({ notes: sorted(liveNotes()) });
  },
  diff(current, desired) {
    const have = parse(current);
    const want = parse(desired);
    const actions = [];
    for (const key of Object.keys(want).sort()) {
      if (have[key] === want[key]) continue;
      const kind = key in have ? 'modify' : 'create';
      actions.push({ kind, resource: key, body: JSON.stringify(want[key]) });
    }
    for (const key of Object.keys(have).sort()) {
      if (!(key in want)) actions.push({ kind: 'delete', resource: key, body: 'null' });
    }
    return actions;
  },
  apply(actions) {
    const insert = {};
    for (const a of actions) if (a.kind !== 'delete') insert[a.resource] = JSON.parse(a.body);
    writeNotes(actions.map((a) => a.resource), insert);
    for (const a of actions) log('info', `note ${a.resource}: ${a.kind}`);
    return actions.map((a) => PREFIX + a.resource);
  },
  verify(desired) {
    const want = parse(desired);
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
  // `id` is the host's, for this apply: give it back with the data.
  checkpoint(id) {
    return { id, data: new TextEncoder().encode(JSON.stringify(sorted(liveNotes()))) };
  },
  restore(snapshot) {
    const saved = JSON.parse(new TextDecoder().decode(snapshot.data));
    writeNotes(Object.keys(liveNotes()), saved);
  },
};
