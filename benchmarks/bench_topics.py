"""Benchmark of the topic classifier: per-topic precision/recall/F1 on the labelled dev set, and speed.

Usage:
    .venv/bin/python benchmarks/bench_topics.py                 # scores per file and overall, clauses/s
    .venv/bin/python benchmarks/bench_topics.py --errors minors # also list the misses and false alarms

The dev set lives in tests/fixtures/devset/*.jsonl, one clause per line:
{"seed": ..., "text": ..., "context": ..., "topics": [...]}. seeds.jsonl is the tuning set (every
clause of the five seed policies, labelled by hand); written.jsonl is the held-out check.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from monitor.meaning.topics import TOPICS, WATCHED, classify

DEVSET = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "devset"
SEEDS = DEVSET.parent / "seeds"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def predict(rows: list[dict], use_context: bool = True) -> list[set[str]]:
    return [{hit.topic for hit in classify(r["text"], r.get("context", "") if use_context else "")}
            for r in rows]


def sections(rows: list[dict]) -> list[dict]:
    """Consecutive clauses under one heading joined into a paragraph-sized text, labelled with the
    union of their topics: how experts label whole paragraphs, classified without any context."""
    merged: list[dict] = []
    for r in rows:
        heading = r["context"].split("\n")[0] if r["context"] else r["text"]
        if merged and merged[-1]["heading"] == heading and merged[-1]["seed"] == r["seed"]:
            merged[-1]["text"] += " " + r["text"]
            merged[-1]["topics"] = sorted(set(merged[-1]["topics"]) | set(r["topics"]))
        else:
            merged.append({"seed": r["seed"], "heading": heading, "text": r["text"], "context": "",
                           "topics": list(r["topics"])})
    return merged


def labelled(row: dict, topic: str) -> bool:
    """Whether `row` was labelled for `topic`: the blind sets label only the watched topics."""
    return topic in row.get("labelled", TOPICS)


def scores(rows: list[dict], predicted: list[set[str]]) -> dict[str, tuple[float, float, float, int]]:
    """Per topic: (precision, recall, F1, number of gold positives), over the rows labelled for it."""
    result = {}
    for topic in TOPICS:
        pairs = [(r, p) for r, p in zip(rows, predicted, strict=True) if labelled(r, topic)]
        if not pairs:
            continue
        tp = sum(1 for r, p in pairs if topic in p and topic in r["topics"])
        fp = sum(1 for r, p in pairs if topic in p and topic not in r["topics"])
        fn = sum(1 for r, p in pairs if topic not in p and topic in r["topics"])
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[topic] = (precision, recall, f1, tp + fn)
    return result


def print_table(title: str, table: dict[str, tuple[float, float, float, int]]) -> None:
    print(f"\n{title}")
    print(f"  {'topic':<11} {'P':>5} {'R':>5} {'F1':>5} {'n':>5}")
    for topic, (p, r, f, n) in table.items():
        mark = "*" if topic in WATCHED else " "
        print(f"{mark} {topic:<11} {p:5.2f} {r:5.2f} {f:5.2f} {n:5d}")


def clauses_per_second(rows: list[dict], use_context: bool = True, min_seconds: float = 1.0) -> float:
    done, start = 0, time.process_time()
    while time.process_time() - start < min_seconds:
        for r in rows:
            classify(r["text"], r.get("context", "") if use_context else "")
        done += len(rows)
    return done / (time.process_time() - start)


def long_text_ms(text: str, repeats: int = 5) -> float:
    """CPU milliseconds to classify `text` whole (best of `repeats`): a page without headings."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        classify(text)
        best = min(best, time.process_time() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", metavar="TOPIC", help="list misses and false alarms for TOPIC "
                        "(tuning set only, so the held-out file stays unseen)")
    parser.add_argument("--no-context", action="store_true", help="ablation: ignore headings and lead-ins")
    args = parser.parse_args()
    use_context = not args.no_context

    everything: list[dict] = []
    for path in sorted(DEVSET.glob("*.jsonl")):
        rows = load(path)
        everything += rows
        predicted = predict(rows, use_context)
        print_table(f"{path.name} ({len(rows)} clauses)", scores(rows, predicted))
        if path.name == "seeds.jsonl":
            paragraphs = sections(rows)
            print_table(f"{path.name} as {len(paragraphs)} heading-sized paragraphs, no context",
                        scores(paragraphs, predict(paragraphs, False)))
        if args.errors and path.name == "seeds.jsonl":
            for r, p in zip(rows, predicted, strict=True):
                gold = args.errors in r["topics"]
                if gold != (args.errors in p):
                    kind = "MISS " if gold else "FALSE"
                    ctx = f"  [context: {r['context'][:80]}]" if r.get("context") else ""
                    print(f"    {kind} {r['text'][:160]}{ctx}")
    print_table(f"overall ({len(everything)} clauses)", scores(everything, predict(everything, use_context)))
    print(f"\nspeed: {clauses_per_second(everything):,.0f} clauses/s with context, "
          f"{clauses_per_second(everything, use_context=False):,.0f} without (CPU time of one process on one core)")
    page = max(SEEDS.glob("*.txt"), key=lambda path: path.stat().st_size).read_text(encoding="utf-8")
    print(f"long text: {len(page) / 1000:.0f} KB page in {long_text_ms(page):.0f} ms, the same page 4 times over "
          f"in {long_text_ms(page * 4, 3):.0f} ms (CPU, best of several)")


if __name__ == "__main__":
    main()
