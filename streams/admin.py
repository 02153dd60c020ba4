"""Creating tradewatch's topics (``tradewatch topics``): idempotent, with cleanup policies."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.config import Config
from streams.security import start_checked
from streams.topics import INPUT_TOPICS, OUTPUT_TOPICS, SUBJECT_INPUTS, SUBJECT_STATE_TABLE, TOPIC_SPECS


async def create_topics(config: Config) -> list[str]:
    """Create missing topics; return the names created (existing ones are left alone)."""
    admin = await _admin(config)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=spec.name,
                num_partitions=config.partitions,
                replication_factor=config.replication,
                topic_configs=spec.config(),
            )
            for spec in TOPIC_SPECS
            if spec.name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def missing_input_topics(config: Config) -> list[str]:
    """Input and output topics that do not exist (the worker refuses to start without them)."""
    admin = await _admin(config)
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [name for name in INPUT_TOPICS + OUTPUT_TOPICS if name not in existing]


async def ensure_internal_topics(config: Config) -> list[str]:
    """Create the worker's internal topics before Faust subscribes to them.

    Faust creates them itself, but a consumer that subscribes in the same moment can miss a
    topic created a few milliseconds earlier ("Ignoring missing topic") and only pick it up at
    the next metadata refresh, five minutes later: a fresh deployment that decides nothing for
    five minutes (seen in the benchmark). Creating them first closes that window.
    """
    wanted = {
        f"{config.app_id}-{SUBJECT_INPUTS}": {"cleanup.policy": "delete"},
        f"{config.app_id}-{SUBJECT_STATE_TABLE}-changelog": {"cleanup.policy": "compact"},
    }
    admin = await _admin(config)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=config.partitions, replication_factor=config.replication,
                     topic_configs=topic_config)
            for name, topic_config in wanted.items()
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def _admin(config: Config) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap_servers,
        client_id=f"{config.app_id}-admin",
        **config.security.aiokafka_kwargs(),
    )
    await start_checked(admin, config.security, config.bootstrap_servers)
    return admin
