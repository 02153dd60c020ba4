"""Who may do what on tradewatch's topics: the trust model (docs/design.md, "Trust model") as
Kafka ACLs.

tradewatch trusts what a topic says only as far as it trusts whoever can write it, so each
input topic has exactly one writer — the upstream system that owns the facts in it — and only
tradewatch writes its outputs and its internal topics. This module is the one list of those
grants: ``tradewatch acls`` prints it as ``kafka-acls.sh`` commands for a plain Kafka cluster,
and ``deploy/k8s/kafka-users.yaml`` holds the same grants as Strimzi ``KafkaUser`` resources
(``tests/deploy/test_k8s_manifests.py`` checks that they agree). With the broker's authorizer
on and no ``allow.everyone.if.no.acl.found``, anything not granted here is refused.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby

from streams.topics import (
    ACTIONS,
    APPEALS,
    AUDIT,
    CONTROL,
    INPUT_TOPICS,
    MINI_PROGRAM_EVENTS,
    OUTPUT_TOPICS,
    POSTS,
    QUALIFICATIONS,
    READ_BACK_TOPICS,
)

# The principal (SASL user name) of each input topic's one writer, by default.
WRITERS: dict[str, str] = {
    POSTS: "posts-publisher",  # the official-accounts platform: account_id, text, published_at
    MINI_PROGRAM_EVENTS: "miniprogram-publisher",  # the mini-program platform: app_id and its owner
    QUALIFICATIONS: "qualification-service",  # the licence review: status, licences, validity
    APPEALS: "appeal-review-tool",  # the human review tool (appeals are also signed by a reviewer)
    CONTROL: "policy-admin",  # the trust & safety operators: `tradewatch policy publish`, `tradewatch allowlist`
}
ACTION_READER = "enforcement-consumer"  # downstream enforcement: reads (and verifies) actions
WORKER = "tradewatch"


@dataclass(frozen=True, order=True, slots=True)
class Grant:
    """One ACL: ``principal`` may do ``operation`` on a ``resource`` (topic or group) named
    ``name`` (``pattern`` literal, or prefixed: every name starting with it)."""

    principal: str
    resource: str
    pattern: str
    name: str
    operation: str


def grants(app_id: str = WORKER, worker: str = WORKER, writers: Mapping[str, str] = WRITERS,
           action_reader: str = ACTION_READER) -> list[Grant]:
    """Every grant the deployment needs, sorted; nothing else is allowed."""
    out: list[Grant] = []

    def allow(principal: str, resource: str, name: str, operations: tuple[str, ...], pattern: str = "literal") -> None:
        out.extend(Grant(principal, resource, pattern, name, op) for op in operations)

    # the worker reads every input and writes every output, nothing more
    for topic in INPUT_TOPICS:
        allow(worker, "topic", topic, ("Read", "Describe"))
    for topic in OUTPUT_TOPICS:
        allow(worker, "topic", topic, ("Write", "Describe"))
    for topic in READ_BACK_TOPICS:  # the breaker's trips and held suspensions
        allow(worker, "topic", topic, ("Read",))
    # it owns its internal topics (re-keyed inputs, the state changelog, Faust's leader topic),
    # which it creates at start, and its three consumer groups (deciding, intake, releasing held suspensions)
    allow(worker, "topic", f"{app_id}-", ("Create", "Describe", "DescribeConfigs", "Read", "Write"), "prefixed")
    allow(worker, "group", app_id, ("Describe", "Read"))
    allow(worker, "group", f"{app_id}-intake", ("Describe", "Read"))
    allow(worker, "group", f"{app_id}-release", ("Describe", "Read"))
    # each upstream system writes its own topic only
    for topic, principal in writers.items():
        allow(principal, "topic", topic, ("Describe", "Write"))
    # the operators read back what the workers made of their changes (`tradewatch allowlist list`)
    allow(writers[CONTROL], "topic", AUDIT, ("Describe", "Read"))
    # downstream reads the actions, in consumer groups named after itself
    allow(action_reader, "topic", ACTIONS, ("Describe", "Read"))
    allow(action_reader, "group", action_reader, ("Read",), "prefixed")
    return sorted(out)


def _target(grant: Grant) -> tuple[str, str, str, str]:
    return grant.principal, grant.resource, grant.pattern, grant.name


def kafka_acls_commands(all_grants: list[Grant], bootstrap: str, command_config: str | None = None) -> list[str]:
    """``kafka-acls.sh --add`` commands, one per principal and resource."""
    lines = []
    for (principal, resource, pattern, name), group in groupby(sorted(all_grants), key=_target):
        words = ["kafka-acls.sh", "--bootstrap-server", bootstrap]
        if command_config:
            words += ["--command-config", command_config]
        words += ["--add", "--allow-principal", f"User:{principal}"]
        for grant in group:
            words += ["--operation", grant.operation]
        words += [f"--{resource}", name]
        if pattern != "literal":
            words += ["--resource-pattern-type", pattern]
        lines.append(shlex.join(words))
    return lines


def strimzi_acls(all_grants: list[Grant], principal: str) -> list[dict[str, object]]:
    """The ``spec.authorization.acls`` of a Strimzi KafkaUser for ``principal``."""
    mine = sorted(grant for grant in all_grants if grant.principal == principal)
    return [
        {"resource": {"type": resource, "name": name, "patternType": pattern},
         "operations": [grant.operation for grant in group]}
        for (_, resource, pattern, name), group in groupby(mine, key=_target)
    ]
