"""__NAME__: a portagent state plugin in Python (componentize-py).

It owns the `__NAME__` section of a state file:

    plugins:
      __NAME__:
        notes: {rack: r12, owner: ops}

and keeps each note as `external_ids:__NAME__:KEY=VALUE` of OVS's
Open_vSwitch row, through the `ovsdb` capability (scope: Open_vSwitch).
Keys without the prefix belong to others and are never touched.

Replace the notes with what your plugin manages; keep the shape of each
method (the contract is in portagent's docs/plugins.md).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, ovsdb
from wit_world.imports.types import (
    Action,
    ActionKind,
    CapabilityRequest,
    FieldError,
    Mismatch,
    PluginError_Failed,
    PluginError_Invalid,
    PluginInfo,
    Snapshot,
)

PREFIX = "__NAME__:"
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def invalid(field, message):
    return Err(PluginError_Invalid(FieldError(field, message)))


def parse(desired):
    """The section's notes, or Err naming the bad field."""
    try:
        section = json.loads(desired) if desired.strip() else {}
    except ValueError as e:
        raise invalid("", f"not JSON: {e}")
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise invalid("", "expected a mapping with `notes`")
    unknown = sorted(set(section) - {"notes"})
    if unknown:
        raise invalid(unknown[0], "unknown field (expected `notes`)")
    notes = section.get("notes") or {}
    if not isinstance(notes, dict):
        raise invalid("notes", "expected a mapping of KEY: VALUE")
    for key, value in notes.items():
        if not key or not set(key) <= KEY_CHARS:
            raise invalid(f"notes.{key}", "a key is lower-case letters, digits, - and _")
        if not isinstance(value, str):
            raise invalid(f"notes.{key}", f"expected a string, got {json.dumps(value)}")
    return notes


def transact(operations):
    try:
        return json.loads(ovsdb.transact("Open_vSwitch", json.dumps(operations)))
    except Err as e:
        raise Err(PluginError_Failed(f"ovsdb: {e.value.value}"))


def live_notes():
    result = transact([{"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["external_ids"]}])
    rows = result[0].get("rows", [])
    if not rows:
        raise Err(PluginError_Failed("ovsdb: the Open_vSwitch table has no row"))
    pairs = rows[0]["external_ids"][1]
    return {k[len(PREFIX):]: v for k, v in pairs if k.startswith(PREFIX)}


def write_notes(delete, insert):
    """One transaction: drop the keys in `delete`, then set `insert`."""
    mutations = []
    if delete:
        mutations.append(["external_ids", "delete", ["set", [PREFIX + k for k in delete]]])
    if insert:
        mutations.append(["external_ids", "insert", ["map", [[PREFIX + k, v] for k, v in insert.items()]]])
    if mutations:
        transact([{"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": mutations}])


class Plugin(exports.Plugin):
    def describe(self):
        return PluginInfo(
            name="__NAME__",
            version="0.1.0",
            section="__NAME__",
            capabilities=[
                CapabilityRequest("ovsdb", ["Open_vSwitch"], "to keep notes in external_ids"),
                CapabilityRequest("log", [], "to say what it changed"),
            ],
            after=["net"],
        )

    def schema(self):
        # The section's JSON Schema, for `portagent schema` and editors:
        # the same rules as `parse`.
        return json.dumps({
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "notes": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[a-z0-9_-]+$"},
                    "additionalProperties": {"type": "string"},
                }
            },
        })

    def validate(self, desired):
        parse(desired)

    def query(self):
        return json.dumps({"notes": live_notes()}, sort_keys=True)

    def diff(self, current, desired):
        have = parse(current)
        want = parse(desired)
        actions = []
        for key in sorted(want):
            if key not in have:
                kind = ActionKind.CREATE
            elif have[key] != want[key]:
                kind = ActionKind.MODIFY
            else:
                continue
            actions.append(Action(kind, key, json.dumps(want[key])))
        for key in sorted(set(have) - set(want)):
            actions.append(Action(ActionKind.DELETE, key, "null"))
        return actions

    def apply(self, actions):
        delete = [a.resource for a in actions]
        insert = {a.resource: json.loads(a.body) for a in actions if a.kind != ActionKind.DELETE}
        write_notes(delete, insert)
        for a in actions:
            log.log(log.Level.INFO, f"note {a.resource}: {a.kind.name.lower()}")
        return [PREFIX + a.resource for a in actions]

    def verify(self, desired):
        want = parse(desired)
        have = live_notes()
        return [
            Mismatch(PREFIX + k, "value", json.dumps(want.get(k)), json.dumps(have.get(k)))
            for k in sorted(set(want) | set(have))
            if want.get(k) != have.get(k)
        ]

    def checkpoint(self, id):
        # `id` is the host's, for this apply: give it back with the data.
        return Snapshot(id, json.dumps(live_notes(), sort_keys=True).encode())

    def restore(self, snapshot):
        saved = json.loads(snapshot.data.decode())
        write_notes(list(live_notes()), saved)
