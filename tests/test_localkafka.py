"""The local broker manager: a real Kafka node that clients can use and that keeps its data."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest

from streams.localkafka import LocalKafka

REPO_ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_S = 30.0


async def _create_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await asyncio.wait_for(
            admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]),
            STEP_TIMEOUT_S,
        )
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=key), STEP_TIMEOUT_S)
    finally:
        await producer.stop()


async def _consume_first(bootstrap: str, topic: str, group: str) -> tuple[bytes | None, bytes | None]:
    """Read the first record as a member of `group` and commit, like a worker would."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), STEP_TIMEOUT_S)
        await asyncio.wait_for(consumer.commit(), STEP_TIMEOUT_S)
        return record.key, record.value
    finally:
        await consumer.stop()


async def _committed_offset(bootstrap: str, topic: str, group: str) -> int | None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.committed(TopicPartition(topic, 0)), STEP_TIMEOUT_S)
    finally:
        await consumer.stop()


@pytest.mark.kafka
def test_broker_serves_clients_and_keeps_data_across_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    topic = f"trades-{uuid.uuid4().hex[:8]}"
    key, value = b"AAPL", b'{"price": "101.5"}'

    kafka = LocalKafka(data_dir)
    try:
        bootstrap = kafka.start(timeout=90)
        assert bootstrap == kafka.bootstrap == (data_dir / "bootstrap").read_text().strip()
        asyncio.run(_create_topic(bootstrap, topic))
        asyncio.run(_produce(bootstrap, topic, key, value))
        assert asyncio.run(_consume_first(bootstrap, topic, "first-reader")) == (key, value)
        kafka.stop()
        assert not kafka.is_running()

        restarted = LocalKafka(data_dir)
        assert restarted.start(timeout=90) == bootstrap  # same ports, so clients' config stays valid
        assert asyncio.run(_consume_first(bootstrap, topic, "second-reader")) == (key, value)
        assert asyncio.run(_committed_offset(bootstrap, topic, "first-reader")) == 1

        restarted.kill()
        assert not restarted.is_running()
        assert "stopped" in restarted.status()
    finally:
        kafka.kill()  # no-op unless an assertion left it running


def _read_properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_extra_config_can_add_a_listener_on_this_nodes_ports(tmp_path: Path) -> None:
    kafka = LocalKafka(
        tmp_path,
        port=19092,
        extra_config={
            "listeners": "PLAINTEXT://127.0.0.1:{port},SASL_SSL://127.0.0.1:19094,"
            "CONTROLLER://127.0.0.1:{controller_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        },
    )

    config = _read_properties(kafka.configure())

    assert config["listeners"] == (
        f"PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094,CONTROLLER://127.0.0.1:{kafka.controller_port}"
    )
    assert config["listener.security.protocol.map"].split(",")[1] == "SASL_SSL:SASL_SSL"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"  # untouched defaults stay
    assert kafka.bootstrap == "127.0.0.1:19092"


def test_wrapper_reports_a_never_started_dir_as_stopped(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "deploy" / "kafka" / "local-kafka"), "status", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.split()[0] == "stopped"


def test_the_fetched_kafka_jars_are_the_pinned_ones_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    import shutil

    from streams.localkafka import LocalKafkaError, check_jars, ensure_jars

    libs = ensure_jars(quiet=True)
    check_jars(libs)  # what Maven fetched on this machine: byte for byte the pinned jars
    copy = tmp_path / "libs"
    shutil.copytree(libs, copy)
    victim = sorted(copy.glob("kafka-clients-*.jar"))[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    (copy / "extra-1.0.jar").write_bytes(b"PK")
    with pytest.raises(LocalKafkaError) as error:
        check_jars(copy)
    assert f"{victim.name}: SHA-256" in str(error.value) and "extra-1.0.jar: not pinned" in str(error.value)
