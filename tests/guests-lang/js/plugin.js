// jsnote, a test guest in JavaScript (componentize-js): the plugin that
// `portagent plugin new jsnote --lang js` makes (built beside this file as
// notes.js, by scripts/lang-guests), plus `sabotage`, for tests:
//
//     plugins:
//       jsnote:
//         notes: {rack: r12}
//         sabotage: verify   # apply writes a wrong value: verify must catch it
//         sabotage: throw    # apply throws: the admin must read the message

import { plugin as notes } from './notes.js';

// The section without `sabotage` (as JSON text), and its value.
function strip(desired) {
  let section;
  try {
    section = desired.trim() ? JSON.parse(desired) : {};
  } catch {
    return { rest: desired, sabotage: null }; // notes names the error
  }
  if (!section || typeof section !== 'object' || Array.isArray(section)) return { rest: desired, sabotage: null };
  const { sabotage = null, ...rest } = section;
  if (![null, 'verify', 'throw'].includes(sabotage)) {
    throw { payload: { tag: 'invalid', val: { field: 'sabotage', message: 'expected `verify` or `throw`' } } };
  }
  return { rest: JSON.stringify(rest), sabotage };
}

export const plugin = {
  ...notes,
  validate(desired) {
    notes.validate(strip(desired).rest);
  },
  diff(current, desired) {
    const { rest, sabotage } = strip(desired);
    const actions = notes.diff(current, rest);
    for (const a of actions) {
      if (a.kind === 'delete' || sabotage === null) continue;
      a.body =
        sabotage === 'verify'
          ? JSON.stringify(JSON.parse(a.body) + '-sabotaged')
          : JSON.stringify({ throw: `jsnote was asked to throw (note ${a.resource})` });
    }
    return actions;
  },
  apply(actions) {
    for (const a of actions) {
      const body = JSON.parse(a.body);
      if (body && body.throw) throw new Error(body.throw);
    }
    return notes.apply(actions);
  },
  verify(desired) {
    return notes.verify(strip(desired).rest);
  },
};
