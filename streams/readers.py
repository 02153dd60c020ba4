"""A consumer that belongs to no group: for reading tradewatch's own compacted topics (owner
bindings, breaker trips) by hand, partition by partition, from their start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer

if TYPE_CHECKING:
    from streams.config import Config


def manual_reader(config: Config, role: str) -> AIOKafkaConsumer:
    """An unstarted consumer without a group (nothing committed), client id ``<app id>-<role>``."""
    return AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        group_id=None,
        client_id=f"{config.app_id}-{role}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **config.security.aiokafka_kwargs(),
    )
