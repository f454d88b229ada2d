"""pynote, a test guest in Python (componentize-py): the plugin that
`portagent plugin new pynote --lang python` makes (built beside this file
as notes.py, by scripts/lang-guests), plus `sabotage`, for tests:

    plugins:
      pynote:
        notes: {rack: r12}
        sabotage: verify   # apply writes a wrong value: verify must catch it
        sabotage: raise    # apply raises: the admin must read the message
"""

import json

import notes
from wit_world.imports.types import ActionKind


def strip(desired):
    """The section without `sabotage` (as JSON text), and its value."""
    try:
        section = json.loads(desired) if desired.strip() else {}
    except ValueError:
        return desired, None  # notes.parse names the error
    if not isinstance(section, dict):
        return desired, None
    sabotage = section.pop("sabotage", None)
    if sabotage not in (None, "verify", "raise"):
        raise notes.invalid("sabotage", "expected `verify` or `raise`")
    return json.dumps(section), sabotage


class Plugin(notes.Plugin):
    def validate(self, desired):
        super().validate(strip(desired)[0])

    def diff(self, current, desired):
        desired, sabotage = strip(desired)
        actions = super().diff(current, desired)
        for a in actions:
            if a.kind == ActionKind.DELETE or sabotage is None:
                continue
            if sabotage == "verify":
                a.body = json.dumps(json.loads(a.body) + "-sabotaged")
            else:
                a.body = json.dumps({"raise": f"pynote was asked to raise (note {a.resource})"})
        return actions

    def apply(self, actions):
        for a in actions:
            body = json.loads(a.body)
            if isinstance(body, dict):
                raise RuntimeError(body["raise"])
        return super().apply(actions)

    def verify(self, desired):
        return super().verify(strip(desired)[0])
