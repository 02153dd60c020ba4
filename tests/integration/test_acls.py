"""The trust model enforced by a real broker: the ACLs `tradewatch acls` prints, applied with
Kafka's own kafka-acls tool to a broker whose authorizer refuses whatever is not granted.

The worker decides as usual with only its grants; each upstream system can write its own topic
and nothing else; nobody but tradewatch can write an action; an unknown user can write nothing.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import KafkaError

from streams.localkafka import LocalKafka, ensure_jars, java_executable
from streams.security import KafkaSecurity, start_checked
from tests.integration.harness import REPO, WorkerProcess, free_port, wait_for
from tests.integration.records import post_record, resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

APP_ID = "tw-acl"
PASSWORD = "acl test password 1234"
USERS = ("tradewatch", "posts-publisher", "miniprogram-publisher", "enforcement-consumer", "intruder")


@pytest.fixture(scope="module")
def authorizing_kafka(tmp_path_factory):
    """A broker with the standard authorizer: the PLAINTEXT listener is the operators' (a super
    user), clients log in over SASL (SCRAM) and get only what an ACL grants."""
    directory = tmp_path_factory.mktemp("acls")
    sasl_port = free_port()
    broker = LocalKafka(directory / "kafka", extra_config={
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},CONTROLLER://127.0.0.1:{{controller_port}},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{{port}},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS",  # the PLAINTEXT and controller listeners: operators and the node itself
        "allow.everyone.if.no.acl.found": "false",
        "auto.create.topics.enable": "false",
    })
    properties = broker.configure()
    cluster_id = "tw" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[2:]
    scram = [arg for user in USERS for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={PASSWORD}]")]
    formatted = subprocess.run([java_executable(), "-Xmx256m", "-cp", f"{ensure_jars()}/*", "kafka.tools.StorageTool",
                                "format", "-t", cluster_id, "-c", str(properties), *scram],
                               capture_output=True, text=True, timeout=120)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    broker.start()
    try:
        admin_env = {"TRADEWATCH_BROKER": broker.bootstrap, "TRADEWATCH_PARTITIONS": "4", "PATH": "/usr/bin:/bin",
                     "PYTHONPATH": str(REPO)}
        made = subprocess.run([sys.executable, "-m", "streams.cli", "topics"], env=admin_env, capture_output=True,
                              text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        printed = subprocess.run([sys.executable, "-m", "streams.cli", "acls", "--bootstrap-server", broker.bootstrap,
                                  "--app-id", APP_ID], env=admin_env, capture_output=True, text=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        tools = ensure_jars(kit="tools")
        for line in printed.stdout.splitlines():
            words = line.split()
            assert words[0] == "kafka-acls.sh"
            applied = subprocess.run([java_executable(), "-Xmx256m", "-cp", f"{tools}/*", "org.apache.kafka.tools.AclCommand",
                                      *words[1:]], capture_output=True, text=True, timeout=120)
            assert applied.returncode == 0, line + "\n" + applied.stdout + applied.stderr
        yield broker, f"127.0.0.1:{sasl_port}"
    finally:
        broker.stop()


def login(user: str) -> KafkaSecurity:
    return KafkaSecurity.from_env({"TRADEWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "TRADEWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
                                   "TRADEWATCH_SASL_USERNAME": user, "TRADEWATCH_SASL_PASSWORD": PASSWORD})


async def _send(bootstrap: str, user: str, records: list[dict]) -> None:
    from aiokafka import AIOKafkaProducer

    security = login(user)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=10000, **security.aiokafka_kwargs())
    await start_checked(producer, security, bootstrap)
    try:
        for record in records:
            value = record["value"] if isinstance(record["value"], bytes) else orjson.dumps(record["value"])
            await producer.send_and_wait(record["topic"], value, key=record["key"].encode())
    finally:
        await producer.stop()


def send(bootstrap: str, user: str, records: list[dict]) -> None:
    asyncio.run(_send(bootstrap, user, records))


def refused(bootstrap: str, user: str, topic: str) -> bool:
    try:
        send(bootstrap, user, [{"topic": topic, "key": "gh_forged", "value": b"{}"}])
    except KafkaError as error:
        return "Authorization" in type(error).__name__
    return False


async def _read_actions(bootstrap: str, account: str) -> list[dict]:
    from aiokafka import AIOKafkaConsumer

    security = login("enforcement-consumer")
    consumer = AIOKafkaConsumer("enforcement.actions.v1", bootstrap_servers=bootstrap, group_id="enforcement-consumer-test",
                                auto_offset_reset="earliest", enable_auto_commit=False, **security.aiokafka_kwargs())
    await start_checked(consumer, security, bootstrap)
    try:
        batch = await consumer.getmany(timeout_ms=5000, max_records=500)
        return [orjson.loads(m.value) for records in batch.values() for m in records if m.key == account.encode()]
    finally:
        await consumer.stop()


def test_each_writer_writes_only_its_topic_and_nobody_but_tradewatch_writes_an_action(authorizing_kafka):
    _, bootstrap = authorizing_kafka
    assert refused(bootstrap, "posts-publisher", "enforcement.actions.v1")  # a forged decision
    assert refused(bootstrap, "posts-publisher", "enforcement.appeals.v1")  # a forged appeal
    assert refused(bootstrap, "posts-publisher", "miniprogram.events.v1")  # another system's facts
    assert refused(bootstrap, "posts-publisher", f"{APP_ID}-subject-inputs")  # a forged internal record
    assert refused(bootstrap, "intruder", "posts.v1")  # an unknown user writes nothing
    assert refused(bootstrap, "tradewatch", "posts.v1")  # tradewatch never writes what it judges
    assert refused(bootstrap, "enforcement-consumer", "enforcement.actions.v1")
    send(bootstrap, "posts-publisher", [post_record("gh_acl000000000", "早安", at_offset_s=0)])  # its own topic: yes


def test_a_worker_with_only_its_grants_decides_and_publishes(authorizing_kafka, tmp_path: Path):
    _, bootstrap = authorizing_kafka
    env = {"TRADEWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "TRADEWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
           "TRADEWATCH_SASL_USERNAME": "tradewatch", "TRADEWATCH_SASL_PASSWORD": PASSWORD}
    worker = WorkerProcess(bootstrap, APP_ID, tmp_path, extra_env=env, create_topics=False).start()
    try:
        worker.wait_ready()
        account, app = "gh_ac1000000001", "wxac10000000000001"
        send(bootstrap, "posts-publisher", [post_record(account, "数字藏品二级市场已开放，寄售转售自由交易，地板价持续上涨！")])
        send(bootstrap, "miniprogram-publisher", resale_records(account, app, count=30, start_offset_s=60))
        send(bootstrap, "posts-publisher", [{"topic": "posts.v1", "key": account, "value": b"not json"}])
        actions = wait_for(lambda: asyncio.run(_read_actions(bootstrap, account)), 90, "an action, read by the consumer")
        assert {action["subject"]["kind"] for action in actions} >= {"official_account"}
        wait_for(lambda: worker.metric("tradewatch_dead_letters_total") >= 1, 60, "the invalid post dead-lettered")
    finally:
        worker.stop()
