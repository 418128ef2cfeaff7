"""Benchmark of the topic classifier on real policies labelled by people: the test split's per-topic
precision/recall/F1 for rules alone, the model alone, the model gating the rules and the shipped
combination; the labellers' agreement (Cohen's κ); clauses per second; the model's load time and size.

Usage: .venv/bin/python benchmarks/bench_topics.py [--split test|dev]

The data: data/labels/segments.jsonl (paragraphs of Open Terms Archive contributors' recordings,
ODC-BY 1.0), split by policy in data/splits.json. The test split is never used for tuning.
The older written sets (tests/fixtures/devset/) are regression checks only (tests/test_topics.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training import evaluate, labels  # noqa: E402

WAYS = ("rules", "model", "gated", "combined")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test", choices=("test", "dev"))
    split = parser.parse_args().split

    started = time.perf_counter()
    model_module = importlib.import_module("monitor.meaning.model")
    model = model_module.load_model("en")
    load_ms = (time.perf_counter() - started) * 1000
    size = (resources.files("monitor.meaning") / "models" / "en.json").stat().st_size  # type: ignore[attr-defined]

    rows = evaluate.labelled(split)
    services = {r["service"] for r in rows}
    print(f"{split} split: {len(rows)} labelled paragraphs from {len(services)} policies never used for tuning\n")
    figures = evaluate.score(rows)
    print(f"{'topic':<10} {'support':>7}  " + "  ".join(f"{w + ' P/R/F1':>20}" for w in WAYS))
    for topic in evaluate.TOPICS:
        cells = [f"{figures[w][topic]['precision']:.2f}/{figures[w][topic]['recall']:.2f}/{figures[w][topic]['f1']:.3f}"
                 for w in WAYS]
        print(f"{topic:<10} {figures['model'][topic]['support']:>7}  " + "  ".join(f"{c:>20}" for c in cells))
    print(f"\nshipped combination per topic: {model.combination}\n")

    print("Agreement of the two independent labellers (`make agreement`):")
    labels.agreement()

    from monitor.meaning.topics import classify
    from monitor.text.sections import parse_sections, split_clauses

    clauses = []
    for r in rows:
        for section in parse_sections(r["text"]) or []:
            clauses += [(c.text, r["heading"]) for c in split_clauses(section.text)]
    clauses = clauses[:3000]
    started = time.process_time()  # CPU time of this process: steady when other work shares the machine
    for text, heading in clauses:
        classify(text, heading)
    seconds = time.process_time() - started
    print(f"\nspeed: {len(clauses) / seconds:,.0f} clauses per CPU second, one core ({len(clauses)} real clauses "
          "with headings)")
    print(f"model: {size / 1e6:.2f} MB JSON, {len(model.vocabulary):,} features, loaded in {load_ms:.0f} ms")
    print(json.dumps({"split": split, "combined": {t: round(figures["combined"][t]["f1"], 3)
                                                    for t in evaluate.TOPICS}}))


if __name__ == "__main__":
    main()
