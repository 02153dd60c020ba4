"""tradewatch: detect unlicensed secondary trading of digital collectibles and fraud on Kafka streams.

Commands: worker, topics, acls, policy, allowlist, replay, simulate, evaluate, evaluate-posts, train-stance, demo, verify."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

from streams.config import SETTINGS, ConfigError, load_config
from streams.core.policy import PolicyError, load_policy
from streams.core.timefmt import TimeFormatError, parse_time
from streams.security import KafkaConnectError
from streams.signing import SigningConfigError, SigningKeys

if TYPE_CHECKING:
    from streams.core.control import Change


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["verify"]:  # its own parser: flags pass through untouched
        from streams.signing import verify_main

        return verify_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except (ConfigError, PolicyError) as error:
        print(f"tradewatch: configuration error: {error}", file=sys.stderr)
        return 2
    except KafkaConnectError as error:
        print(f"tradewatch: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a missing file, a directory, no permission: the path, not a traceback
        where = f": {error.filename}" if error.filename else ""
        print(f"tradewatch: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradewatch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tradewatch {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    worker = commands.add_parser("worker", help="run a Faust worker (configuration: TRADEWATCH_* variables)")
    _broker_flag(worker)
    worker.add_argument("--metrics-addr", help="host:port for /metrics and health (TRADEWATCH_METRICS_ADDR)")
    worker.add_argument("--policy", help="policy TOML (TRADEWATCH_POLICY)")
    worker.set_defaults(run=run_worker)

    topics = commands.add_parser("topics", help="create the missing topics and check the existing ones "
                                 "(partitions, cleanup policy, retention); non-zero exit naming each problem")
    _broker_flag(topics)
    topics.add_argument("--dry-run", action="store_true", help="only say what would be created, and check")
    topics.set_defaults(run=run_topics)

    acls = commands.add_parser("acls", help="print the Kafka ACLs of the trust model as kafka-acls.sh commands "
                               "(each input topic one writer; only tradewatch writes its outputs)")
    acls.add_argument("--bootstrap-server", required=True, help="what kafka-acls.sh connects to (an admin listener)")
    acls.add_argument("--command-config", help="kafka-acls.sh --command-config: the admin client's properties file")
    acls.add_argument("--app-id", default="tradewatch", help="TRADEWATCH_APP_ID: prefix of the internal topics and groups")
    acls.add_argument("--worker", default="tradewatch", help="the workers' SASL user")
    acls.add_argument("--writer", action="append", default=[], metavar="TOPIC=USER",
                      help="the one user that writes an input topic (repeatable; defaults: "
                           "posts-publisher, miniprogram-publisher, qualification-service, appeal-review-tool, policy-admin)")
    acls.add_argument("--action-reader", default="enforcement-consumer", help="the downstream user that reads actions")
    acls.set_defaults(run=run_acls)

    policy = commands.add_parser("policy", help="policy tools: diff (what a candidate policy would change), "
                                 "publish (hot reload at an event time, to every account or a share)")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    policy_diff = policy_commands.add_parser(
        "diff", help="replay two policies over the same recordings and report, per account, what would change")
    policy_diff.add_argument("recordings", nargs="+", help="recording files (JSONL; .gz allowed)")
    policy_diff.add_argument("--from", dest="from_policy", required=True, help="the current policy TOML")
    policy_diff.add_argument("--to", dest="to_policy", required=True, help="the candidate policy TOML")
    policy_diff.add_argument("--until", help="advance clocks to this RFC 3339 time before comparing (default: the "
                             "recordings' last event time, as evaluate does); 'none' = no advance")
    policy_diff.add_argument("--json", action="store_true", help="print the report as one JSON object")
    policy_diff.add_argument("--max-new-suspensions", type=int, metavar="N",
                             help="exit 1 when the candidate suspends more than N accounts more than the current one")
    policy_diff.set_defaults(run=run_policy_diff)
    publish = policy_commands.add_parser(
        "publish", help="validate a policy and publish it on tradewatch.control.v1: the workers switch at --at")
    publish.add_argument("file", help="the policy TOML (its data files are named relative to the shipped ones)")
    _control_flags(publish)
    publish.add_argument("--rollout-percent", type=int, default=100, metavar="N",
                         help="apply it to N %% of accounts (a stable hash bucket; default 100: all)")
    publish.set_defaults(run=run_policy_publish)

    allowlist = commands.add_parser("allowlist", help="run-time allowlist entries with reason, actor and expiry "
                                    "(tradewatch.control.v1; audited on tradewatch.audit.v1)")
    allowlist_commands = allowlist.add_subparsers(dest="allowlist_command", metavar="COMMAND", required=True)
    add = allowlist_commands.add_parser("add", help="allowlist an account until --expires: a would-be "
                                        "suspension opens a review instead")
    add.add_argument("account_id")
    _control_flags(add)
    add.add_argument("--expires", required=True, help="RFC 3339 time the entry lapses")
    add.set_defaults(run=run_allowlist, op="add")
    remove = allowlist_commands.add_parser("remove", help="end an account's entry at --at")
    remove.add_argument("account_id")
    _control_flags(remove)
    remove.set_defaults(run=run_allowlist, op="remove", expires=None)
    listing = allowlist_commands.add_parser("list", help="the entries in force now, from the audit topic")
    _broker_flag(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=run_allowlist_list)

    replay = commands.add_parser("replay", help="run the detector over recordings and print actions as JSONL")
    replay.add_argument("recordings", nargs="+", help="recording files (JSONL: topic, key, value per line)")
    replay.add_argument("--policy", help="policy TOML (default: the shipped policy)")
    replay.add_argument("--until", help="advance every account clock to this RFC 3339 time at the end")
    replay.add_argument("--control", action="append", default=[], metavar="AUDIT_LOG",
                        help="the control log: tradewatch.audit.v1 exported as JSONL (repeatable); its applied "
                             "policy changes and allowlist entries take effect at their times, as live")
    replay.add_argument("--out", help="write actions here instead of stdout")
    replay.add_argument("--strict", action="store_true",
                        help="exit 1 if any line is invalid (without it: only if no line is valid)")
    replay.set_defaults(run=run_replay)

    simulate = commands.add_parser("simulate", help="write labelled synthetic traffic: a recording and labels")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--accounts", type=int, default=240)
    simulate.add_argument("--days", type=float, default=10.0)
    simulate.add_argument("--intensity", type=float, default=1.0, help="scales message volume")
    simulate.add_argument("--start", help="RFC 3339 time of the first event (default 2022-03-20T00:00:00+08:00)")
    simulate.add_argument("--out", required=True, help="recording JSONL to write")
    simulate.add_argument("--labels", required=True, help="labels JSONL to write")
    simulate.set_defaults(run=run_simulate)

    evaluate = commands.add_parser("evaluate", help="precision/recall of the policy on a labelled recording")
    evaluate.add_argument("--recording", required=True, action="append", help="recording JSONL (repeatable)")
    evaluate.add_argument("--labels", required=True, help="labels JSONL")
    evaluate.add_argument("--policy", help="policy TOML (default: the shipped policy)")
    evaluate.add_argument(
        "--until",
        help="advance clocks to this RFC 3339 time before scoring (default: the recording's last event time, "
        "as a live worker's tick would); 'none' = no advance",
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as one JSON object")
    evaluate.add_argument("--min-precision", type=_fraction, metavar="P",
                          help="exit 1 when suspend or reminder-or-stronger precision is below P (0..1)")
    evaluate.add_argument("--min-recall", type=_fraction, metavar="R",
                          help="exit 1 when suspend or reminder-or-stronger recall is below R (0..1)")
    evaluate.set_defaults(run=run_evaluate)

    posts = commands.add_parser("evaluate-posts", help="post by post: false alarms and misses on labelled posts, by voice")
    posts.add_argument("posts", nargs="+", help="labelled posts JSONL (id, voice, label, title, text)")
    posts.add_argument("--policy", help="policy TOML (default: the shipped policy)")
    posts.add_argument("--no-examples", action="store_true", help="do not list the ids of wrongly judged posts")
    posts.set_defaults(run=run_evaluate_posts)

    train = commands.add_parser("train-stance", help="fit the stance model on labelled posts (the corpus's development part)")
    train.add_argument("posts", nargs="+", help="labelled posts JSONL (id, voice, label, title, text)")
    train.add_argument("--out", required=True, help="model JSON to write (the shipped one: streams/data/stance_model.json)")
    train.add_argument("--version", required=True, help="model version, recorded in the file")
    train.add_argument("--simulated-per-kind", type=int, default=None,
                       help="also train on this many posts of each kind the simulator writes (0: none; default 40)")
    train.set_defaults(run=run_train_stance)

    demo = commands.add_parser("demo", help="the whole system on a local Kafka with simulated traffic")
    demo.add_argument("--seed", type=int, default=11)
    demo.add_argument("--speed", type=float, default=400.0, help="messages per second to play")
    demo.add_argument("--broker", help="use this running broker instead of starting a local one")
    demo.set_defaults(run=run_demo)

    commands.add_parser("verify", help="check the signatures of enforcement actions (tradewatch verify --help)", add_help=False)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tradewatch")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


def _broker_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", help="bootstrap servers (TRADEWATCH_BROKER)")


def _control_flags(parser: argparse.ArgumentParser) -> None:
    _broker_flag(parser)
    parser.add_argument("--actor", required=True, help="who makes the change (in the audit topic)")
    parser.add_argument("--reason", required=True, help="why (in the audit topic)")
    parser.add_argument("--at", help="RFC 3339 event time the change applies from (default: 10 s from now); it must be "
                        "ahead of the pipeline's watermark when the workers read it")
    parser.add_argument("--dry-run", action="store_true", help="validate and print the record; publish nothing")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to SECONDS for the workers' verdict in the audit topic; exit 1 when the "
                             "change is refused or no verdict comes (default 0: do not wait)")


def _fraction(value: str) -> float:
    """A number 0..1 (argparse reports anything else in one line, exit 2)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return number


def _time_arg(value: str | None, flag: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except TimeFormatError:
        raise ConfigError(f"{flag}={value!r} is not allowed: an RFC 3339 time with an offset") from None


def _input_file(path: str, what: str) -> None:
    """A missing path or a directory named as an input file: an OSError naming it (one line)."""
    if not Path(path).exists():
        raise FileNotFoundError(errno.ENOENT, f"no such {what} file", path)
    if Path(path).is_dir():
        raise IsADirectoryError(errno.EISDIR, f"a directory, not a {what} file", path)


def _reviewers() -> SigningKeys | None:
    """The reviewer keys whose signed appeals count (TRADEWATCH_REVIEWER_KEYS[_DIR]), as for a worker."""
    try:
        return SigningKeys.reviewers_from_env()
    except SigningConfigError as error:
        raise ConfigError(str(error)) from None


# ---------------------------------------------------------------- commands
def run_worker(args: argparse.Namespace) -> int:
    import logging.config

    from streams.logjson import logging_config
    from streams.worker import run

    config = load_config(
        TRADEWATCH_BROKER=args.broker, TRADEWATCH_METRICS_ADDR=args.metrics_addr, TRADEWATCH_POLICY=args.policy
    )
    # until Faust sets up its own logging, in the same format
    json_config = logging_config(config.log_level, config.log_format)
    if json_config is not None:
        logging.config.dictConfig(json_config)
    elif not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    return run(config)


def run_acls(args: argparse.Namespace) -> int:
    from streams.acls import WRITERS, grants, kafka_acls_commands

    writers = dict(WRITERS)
    for item in args.writer:
        topic, _, user = item.partition("=")
        if topic not in WRITERS or not user:
            raise ConfigError(f"--writer {item!r} is not allowed: TOPIC=USER with TOPIC one of {', '.join(WRITERS)}")
        writers[topic] = user
    plan = grants(args.app_id, args.worker, writers, args.action_reader)
    print("\n".join(kafka_acls_commands(plan, args.bootstrap_server, args.command_config)))
    return 0


def run_topics(args: argparse.Namespace) -> int:
    from streams.admin import create_topics

    config = load_config(TRADEWATCH_BROKER=args.broker)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection errors are reported here, once
    report = asyncio.run(create_topics(config, dry_run=args.dry_run))
    verb = "would create" if args.dry_run else "created"
    print(f"{verb} {len(report.created)} topic(s): {', '.join(report.created) or '-'}")
    for problem in report.problems:
        print(f"tradewatch topics: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def run_replay(args: argparse.Namespace) -> int:
    from streams.core.control import ControlError
    from streams.offline.replay import read_control_log, read_recording, replay, write_actions

    policy = load_policy(args.policy)
    until = _time_arg(args.until, "--until")
    reviewers = _reviewers()
    for path in args.recordings + args.control:  # a bad path fails now, not after the files before it
        _input_file(path, "recording")
    try:
        control = read_control_log(args.control)
    except ValueError as error:
        raise ConfigError(f"--control: {error}") from None
    out = open(args.out, "w", encoding="utf-8") if args.out else None  # unwritable: fail before the work
    try:
        try:
            result = replay(read_recording(args.recordings), policy, until=until, reviewers=reviewers, control=control)
        except ControlError as error:
            raise ConfigError(f"--control: {error}") from None
        for item in result.invalid:
            print(f"invalid {item.where}: {item.reason}: {item.message}", file=sys.stderr)
        write_actions(result.actions, out) if out else write_actions(result.actions)
    finally:
        if out:
            out.close()
    print(
        f"replay: {result.messages} messages, {result.valid} valid, {result.duplicates} duplicates, "
        f"{len(result.invalid)} invalid, {len(result.actions)} actions",
        file=sys.stderr,
    )
    if result.invalid and (args.strict or not result.valid):
        return 1  # nothing valid at all is never a successful replay; --strict: any invalid line
    return 0


def run_policy_diff(args: argparse.Namespace) -> int:
    from streams.offline.policy_diff import diff, format_diff
    from streams.offline.replay import read_recording, replay

    before_policy, after_policy = load_policy(args.from_policy), load_policy(args.to_policy)
    until: float | str | None = "end" if args.until is None else (
        None if args.until.lower() == "none" else _time_arg(args.until, "--until"))
    for path in args.recordings:
        _input_file(path, "recording")
    reviewers = _reviewers()
    before = replay(read_recording(args.recordings), before_policy, until=until, reviewers=reviewers)
    after = replay(read_recording(args.recordings), after_policy, until=until, reviewers=reviewers)
    report = diff(before, after)
    if args.json:
        import orjson

        print(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(format_diff(report, args.from_policy, args.to_policy))
    if args.max_new_suspensions is not None and report.new_suspensions > args.max_new_suspensions:
        print(f"tradewatch policy diff: the candidate suspends {report.new_suspensions} more account(s) "
              f"(at most {args.max_new_suspensions} allowed)", file=sys.stderr)
        return 1
    return 0


def _send_control(args: argparse.Namespace, document: dict) -> tuple[Change, dict | None]:
    """Validate as the workers will, then publish (or print, --dry-run); returns the change and,
    with --wait, the workers' verdict (None: none came)."""
    import orjson

    from streams.controlcli import checked, publish

    config = load_config(TRADEWATCH_BROKER=args.broker)
    change = checked(document, config.policy.mode)
    if args.dry_run:
        print(orjson.dumps(document).decode())
        return change, None
    if not 0 <= args.wait <= 3600:
        raise ConfigError(f"--wait={args.wait:g} is not allowed: seconds 0..3600")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    return change, asyncio.run(publish(config, document, args.wait))


def _report_verdict(args: argparse.Namespace, document: dict, verdict: dict | None) -> int:
    """With --wait: the workers' verdict on the published change (exit 1 when refused or none came)."""
    if args.dry_run or args.wait <= 0:
        return 0
    if verdict is None:
        print(f"tradewatch: {document['control_id']}: no worker recorded a verdict within {args.wait:g} s "
              "(is a worker running? the audit topic will show it)", file=sys.stderr)
        return 1
    if verdict.get("verdict") != "applied":
        print(f"tradewatch: {document['control_id']}: refused by the workers: {verdict.get('why', '?')}",
              file=sys.stderr)
        return 1
    print(f"applied {document['control_id']} (audit entry recorded at {verdict.get('recorded_at', '?')})")
    return 0


def run_policy_publish(args: argparse.Namespace) -> int:
    from streams.controlcli import policy_document
    from streams.core.control import PolicyChange

    if not 1 <= args.rollout_percent <= 100:
        raise ConfigError(f"--rollout-percent={args.rollout_percent} is not allowed: 1..100")
    _input_file(args.file, "policy")
    document = policy_document(args.file, args.actor, args.reason, _time_arg(args.at, "--at"), args.rollout_percent)
    change, verdict = _send_control(args, document)
    change = cast(PolicyChange, change)  # a policy document parses to one
    if not args.dry_run:
        print(f"published {document['control_id']}: policy {change.policy.version} to "
              f"{args.rollout_percent} % of accounts from {document['effective_at']}")
    return _report_verdict(args, document, verdict)


def run_allowlist(args: argparse.Namespace) -> int:
    from streams.controlcli import allowlist_document

    document = allowlist_document(args.account_id, args.op, args.actor, args.reason, _time_arg(args.at, "--at"),
                                  _time_arg(args.expires, "--expires"))
    _, verdict = _send_control(args, document)
    if not args.dry_run:
        until = f" until {document['expires_at']}" if args.op == "add" else ""
        print(f"published {document['control_id']}: allowlist {args.op} {args.account_id} from "
              f"{document['effective_at']}{until}")
    return _report_verdict(args, document, verdict)


def run_allowlist_list(args: argparse.Namespace) -> int:
    import time

    import orjson

    from streams.controlcli import audit_entries, current_allowlist

    config = load_config(TRADEWATCH_BROKER=args.broker)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    rows = current_allowlist(asyncio.run(audit_entries(config)), time.time())
    if args.json:
        for row in rows:
            print(orjson.dumps(row).decode())
        return 0
    print("| account | expires | actor | reason |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['account_id']} | {row['expires_at']} | {row['actor']} | {row['reason']} |")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from streams.offline.simulate import simulate, write_jsonl

    start = _time_arg(args.start, "--start")
    simulation = simulate(seed=args.seed, accounts=args.accounts, days=args.days, start=start, intensity=args.intensity)
    write_jsonl(args.out, simulation.records)
    write_jsonl(args.labels, simulation.labels)
    print(f"simulate: {len(simulation.records)} messages for {len(simulation.labels)} accounts -> {args.out}, {args.labels}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from streams.offline.evaluate import below, evaluate, format_report, read_labels, to_json
    from streams.offline.replay import read_recording, replay

    policy = load_policy(args.policy)
    if args.until is None:
        until: float | str | None = "end"
    elif args.until.lower() == "none":
        until = None
    else:
        until = _time_arg(args.until, "--until")
    for path in [*args.recording, args.labels]:
        _input_file(path, "input")
    try:
        labels = read_labels(args.labels)
    except ValueError as error:
        raise ConfigError(f"--labels: {error}") from None
    result = replay(read_recording(args.recording), policy, until=until, reviewers=_reviewers())
    evaluation = evaluate(result, labels)
    if args.json:
        import orjson

        print(orjson.dumps(to_json(evaluation, result), option=orjson.OPT_INDENT_2).decode())
    else:
        print(format_report(evaluation, result))
    short = below(evaluation, args.min_precision, args.min_recall)
    for line in short:
        print(f"tradewatch evaluate: {line}", file=sys.stderr)
    return 1 if short else 0


def run_evaluate_posts(args: argparse.Namespace) -> int:
    from streams.offline.evaluate_posts import evaluate_posts, format_post_report
    from streams.offline.train_stance import read_posts

    policy = load_policy(args.policy)
    posts = [post for path in args.posts for post in read_posts(path)]
    print(format_post_report(evaluate_posts(posts, policy), show_examples=not args.no_examples))
    return 0


def run_train_stance(args: argparse.Namespace) -> int:
    from streams.offline.train_stance import SIMULATED_PER_KIND, read_posts, simulated_posts, train, write_model

    if any("sealed" in Path(path).name for path in args.posts):
        raise ConfigError("train-stance: the sealed part of the corpus is for measuring only, never for training")
    posts = [post for path in args.posts for post in read_posts(path)]
    posts += simulated_posts(SIMULATED_PER_KIND if args.simulated_per_kind is None else args.simulated_per_kind)
    model = train(posts, version=args.version)
    write_model(model, args.out)
    print(f"train-stance: {len(posts)} posts -> {args.out} ({model.feature_count} weights)")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo as demo

    return demo(seed=args.seed, speed=args.speed, broker=args.broker)


def settings_table() -> str:
    """The configuration table of docs/reference.md, generated from the one list of settings."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.default or '(empty)'}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
