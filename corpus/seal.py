"""Split the hand-written corpus into a development part and a sealed part (one third).

    python corpus/seal.py STAGING_DIR
    python corpus/seal.py --add-posts FILE...    (a later round of posts, appended by the same rule)

STAGING_DIR holds what the corpus writers produced: ``posts/*.jsonl`` (labelled posts) and
``timelines/*.recording.jsonl`` with ``timelines/*.labels.jsonl`` (labelled account
timelines). A post is sealed when a hash of its id falls in the sealed third, an account
when a hash of its account id does, so the split is stable, random with respect to content,
and the same on every run. The sealed files are for measuring only: nothing in tradewatch
is ever tuned or trained on them. This script prints counts, never content.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sealed(key: str) -> bool:
    return hashlib.blake2b(key.encode(), digest_size=8).digest()[0] % 3 == 0


def account_of(record: dict) -> str:
    value = record["value"]
    return value.get("owner_account_id") or value.get("account_id") or record["key"]


def rows(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for path in sorted(paths)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def dump(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False)


def main(staging: Path) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    posts: dict[str, list[str]] = {"dev": [], "sealed": []}
    for row in rows(list((staging / "posts").glob("*.jsonl"))):
        part = "sealed" if sealed(row["id"]) else "dev"
        posts[part].append(dump(row))
        counts[(part, row["label"])] += 1
    labels: dict[str, list[str]] = {"dev": [], "sealed": []}
    for row in rows(list((staging / "timelines").glob("*.labels.jsonl"))):
        part = "sealed" if sealed(row["account_id"]) else "dev"
        labels[part].append(dump(row))
        counts[(part, "account:" + row["expected"])] += 1
    recording: dict[str, list[str]] = {"dev": [], "sealed": []}
    for row in rows(list((staging / "timelines").glob("*.recording.jsonl"))):
        recording["sealed" if sealed(account_of(row)) else "dev"].append(dump(row))
    for part in ("dev", "sealed"):
        (HERE / f"posts.{part}.jsonl").write_text("\n".join(posts[part]) + "\n", encoding="utf-8")
        data = ("\n".join(recording[part]) + "\n").encode()
        (HERE / f"timelines.{part}.jsonl.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        (HERE / f"timelines.{part}.labels.jsonl").write_text("\n".join(labels[part]) + "\n", encoding="utf-8")
    for key, n in sorted(counts.items()):
        print(*key, n)


def add_posts(paths: list[Path]) -> None:
    """Append a later round of posts to both parts, split by the same hash; an id already in
    the corpus is refused, so nothing moves between the parts."""
    files = {part: HERE / f"posts.{part}.jsonl" for part in ("dev", "sealed")}
    known = {row["id"] for path in files.values() for row in rows([path])}
    counts: Counter[tuple[str, str]] = Counter()
    added: dict[str, list[str]] = {"dev": [], "sealed": []}
    for row in rows(paths):
        if row["id"] in known:
            sys.exit(f"seal: post {row['id']} is already in the corpus")
        known.add(row["id"])
        part = "sealed" if sealed(row["id"]) else "dev"
        added[part].append(dump(row))
        counts[(part, row["label"])] += 1
    for part, lines in added.items():
        with files[part].open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
    for key, n in sorted(counts.items()):
        print(*key, n)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--add-posts"]:
        add_posts([Path(arg) for arg in sys.argv[2:]])
    else:
        main(Path(sys.argv[1]))
