#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0; part of portagent (the OVS Port Agent).
"""Ansible module: apply a portagent state file, safely."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_port_agent_state
short_description: Apply declarative network state with portagent (ovs-port-agent)
description:
  - Applies a portagent state file (OVS bridges and ports, addresses, routes, DNS, flows) on the managed
    host with C(ovs-port-agent apply-state), which diffs, checkpoints, applies, verifies, and rolls back
    everything on any failure. The change is recorded in portagent's hash-chained ledger; the result carries the entry's hash.
  - In check mode it runs C(show-diff) and changes nothing; C(changed) says whether the apply would change
    anything. With C(--diff) the plan is shown as C(show-diff --output text) prints it.
  - With O(confirm_timeout) the change is kept only if confirmed in time, like C(netplan try); confirm it in a
    later task with O(confirm=true), run from the controller, so a change that cut the controller off rolls
    back by itself.
version_added: "0.1.0"
author: portagent developers
options:
  src:
    description: Path of a state file on the managed host. Exactly one of O(src) and O(state) is required
      (unless O(confirm) or O(rollback)).
    type: path
  state:
    description: The state inline (the file's content as a mapping, or YAML text), written to a private
      temporary file on the managed host.
    type: raw
  confirm_timeout:
    description: Seconds within which the change must be confirmed (O(confirm=true)); otherwise portagent
      rolls it back.
    type: int
  probe:
    description: Hosts that must answer ping after the apply, or it is rolled back.
    type: list
    elements: str
    default: []
  confirm:
    description: Confirm (commit) the change applied earlier with O(confirm_timeout).
    type: bool
    default: false
  rollback:
    description: Roll back the change applied earlier with O(confirm_timeout), now.
    type: bool
    default: false
  config:
    description: portagent's configuration file on the managed host.
    type: path
  executable:
    description: The portagent program on the managed host.
    type: str
    default: ovs-port-agent
"""

EXAMPLES = r"""
- name: Bridge and uplink, kept only if the controller still reaches the host
  ovs.port_agent.ovs_port_agent_state:
    src: /opt/network-config/production.yaml
    confirm_timeout: 120
    probe: [192.168.1.1]
  register: net

- name: Still reachable from here: keep it
  ovs.port_agent.ovs_port_agent_state:
    confirm: true
  when: net.pending_confirmation is defined

- name: Inline state
  ovs.port_agent.ovs_port_agent_state:
    state:
      version: 1
      plugins:
        netcfg:
          dns: {servers: [9.9.9.9]}
"""

RETURN = r"""
exit_code:
  description: The exit code of C(apply-state --detailed-exitcode) (0 nothing to do, 5 changed, 3 rolled back, ...).
  returned: when an apply ran
  type: int
report:
  description: portagent's apply report (changes_applied, plugins, timings_ms, errors, checkpoint, ...).
  returned: when an apply ran
  type: dict
ledger_hash:
  description: The hash of the ledger entry that records the change (or its rollback).
  returned: when the apply changed something or was rolled back
  type: str
checkpoint:
  description: The change's checkpoint id.
  returned: when the apply changed something or was rolled back
  type: str
pending_confirmation:
  description: The checkpoint and deadline of a change that awaits O(confirm=true).
  returned: with O(confirm_timeout), when the apply changed something
  type: dict
rolled_back:
  description: The apply failed and everything was undone.
  returned: always
  type: bool
actions:
  description: What the apply would change (check mode, as show-diff gives it) or changed, per plugin.
  returned: always
  type: list
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

# portagent's exit codes (README, "Exit codes").
OK = 0
INVALID = 2
ROLLED_BACK = 3
BUSY = 4
CHANGED = 5
ROLLBACK_FAILED = 6


def command(module, *args):
    cmd = [module.params["executable"]]
    if module.params["config"]:
        cmd += ["--config", module.params["config"]]
    return cmd + list(args)


def run(module, *args):
    return module.run_command(command(module, *args), environ_update={"NO_COLOR": "1"})


def json_stream(text):
    """show-diff's JSON: one object per plugin, one after another."""
    decoder, out, i = json.JSONDecoder(), [], 0
    text = text.strip()
    while i < len(text):
        value, end = decoder.raw_decode(text, i)
        out.append(value)
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def settle(module, verb):
    rc, out, err = run(module, verb, "--output", "json")
    if rc != OK:
        module.fail_json(msg=f"ovs-port-agent {verb} failed (exit {rc}): {err.strip() or out.strip()}", rc=rc)
    result = json.loads(out) if out.strip() else {}
    module.exit_json(changed=bool(result), rolled_back=verb == "rollback", result=result, actions=[])


def state_file(module):
    """The state file's path on the host, and whether it is a temporary one."""
    if module.params["src"]:
        return module.params["src"], False
    given = module.params["state"]
    text = given if isinstance(given, str) else json.dumps(given)
    fd, path = tempfile.mkstemp(prefix="ovs-port-agent-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path, True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path"),
            state=dict(type="raw"),
            confirm_timeout=dict(type="int"),
            probe=dict(type="list", elements="str", default=[]),
            confirm=dict(type="bool", default=False),
            rollback=dict(type="bool", default=False),
            config=dict(type="path"),
            executable=dict(type="str", default="ovs-port-agent"),
        ),
        mutually_exclusive=[("src", "state", "confirm", "rollback")],
        required_one_of=[("src", "state", "confirm", "rollback")],
        supports_check_mode=True,
    )
    p = module.params
    if p["confirm"] or p["rollback"]:
        if module.check_mode:
            module.exit_json(changed=True, rolled_back=False, actions=[])
        settle(module, "commit" if p["confirm"] else "rollback")
    if p["confirm_timeout"] is not None and p["confirm_timeout"] < 1:
        module.fail_json(msg="confirm_timeout: must be at least 1 second")

    path, temporary = state_file(module)
    try:
        diff = None
        if module._diff:
            # The plan, before anything changes.
            _, plan, _ = run(module, "show-diff", path, "--output", "text")
            diff = {"before_header": "live state", "after_header": path, "prepared": plan}
        if module.check_mode:
            rc, out, err = run(module, "show-diff", path, "--output", "json")
            if rc != OK:
                module.fail_json(msg=f"show-diff failed (exit {rc}): {err.strip()}", rc=rc)
            actions = json_stream(out)
            result = dict(changed=any(d.get("actions") for d in actions), rolled_back=False, actions=actions)
            if diff:
                result["diff"] = diff
            module.exit_json(**result)

        args = ["apply-state", path, "--output", "json", "--detailed-exitcode"]
        if p["confirm_timeout"] is not None:
            args += ["--confirm-timeout", str(p["confirm_timeout"])]
        for host in p["probe"]:
            args += ["--probe", host]
        rc, out, err = run(module, *args)
        report = json.loads(out) if out.strip().startswith("{") else {}
        result = dict(
            # Not `rc`: Ansible reads a non-zero rc as a failure, and 5 is "changed".
            exit_code=rc,
            report=report,
            actions=[{"plugin": r.get("plugin"), "actions": r.get("actions", [])} for r in report.get("plugins", [])],
            checkpoint=report.get("checkpoint"),
            ledger_hash=report.get("ledger_hash"),
            rolled_back=bool(report.get("rolled_back")),
        )
        if diff:
            result["diff"] = diff
        if report.get("pending_confirmation"):
            result["pending_confirmation"] = report["pending_confirmation"]
        if rc in (OK, CHANGED):
            module.exit_json(changed=rc == CHANGED, **result)
        why = {
            INVALID: "the state is invalid; nothing was changed",
            ROLLED_BACK: "the apply failed and everything was rolled back",
            BUSY: "another change is being applied or awaits confirmation",
            ROLLBACK_FAILED: "the apply failed and its rollback failed too (portagent retries it)",
        }.get(rc, "the apply failed")
        errors = "; ".join(report.get("errors", [])) or err.strip()
        module.fail_json(msg=f"{why}: {errors}", changed=rc in (ROLLED_BACK, ROLLBACK_FAILED), **result)
    finally:
        if temporary:
            os.unlink(path)


if __name__ == "__main__":
    main()
