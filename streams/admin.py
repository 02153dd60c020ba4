"""Creating tradewatch's topics (``tradewatch topics``): idempotent, with cleanup policies."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.config import Config
from streams.security import start_checked
from streams.topics import INPUT_TOPICS, OUTPUT_TOPICS, TOPIC_SPECS


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


async def _admin(config: Config) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap_servers,
        client_id=f"{config.app_id}-admin",
        **config.security.aiokafka_kwargs(),
    )
    await start_checked(admin, config.security, config.bootstrap_servers)
    return admin
