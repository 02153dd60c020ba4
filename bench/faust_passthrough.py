"""Contender (b): a bare Faust agent that forwards every input message, untouched, by its key.

It uses exactly tradewatch's Faust settings (``streams.app.faust_settings``), concurrency=1 and raw
serializers, on the same event loop, and sends the way tradewatch's intake does
(``app.producer.send``), so ``tradewatch_eps / faust_passthrough_eps`` is the cost of
tradewatch's own work: validation, the re-keying hop, the detection core and the table.

Run as ``python -m bench.faust_passthrough --bootstrap HOST:PORT --app-id ID --partitions P
--out TOPIC TOPIC...`` (a Faust worker; stop it with SIGTERM).
"""

from __future__ import annotations

import argparse
import sys

import faust

from streams.app import faust_settings
from streams.config import Config, load_config
from streams.worker import use_event_loop


def create_app(config: Config, topics: list[str], out_topic: str) -> faust.App:
    app = faust.App(config.app_id, **faust_settings(config))
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    inputs = app.topic(*topics, **raw)

    @app.agent(inputs, concurrency=1)
    async def forward(stream):
        async for event in stream.events():
            message = event.message
            await app.producer.send(out_topic, message.key, message.value, None, None, None)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faust_passthrough")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("topics", nargs="+")
    args = parser.parse_args()
    config = load_config(
        TRADEWATCH_BROKER=args.bootstrap, TRADEWATCH_APP_ID=args.app_id,
        TRADEWATCH_PARTITIONS=str(args.partitions), TRADEWATCH_DATA_DIR=args.data_dir,
    )  # the rest, as for a tradewatch worker, from the environment (the event loop too)
    use_event_loop(config)
    app = create_app(config, args.topics, args.out)
    sys.argv = [sys.argv[0]]  # Faust's worker parses the command line itself
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.spinner = None  # as in streams/worker.py: no DEBUG root logger from Faust's spinner
    worker.execute_from_commandline()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
