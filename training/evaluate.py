"""Score topic classifiers on labelled segments of one split: rules alone, model alone, model gating rules.

Shared by `training/train_model.py` (choosing the combination per topic on dev) and
`benchmarks/bench_topics.py` (reporting it on test).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from monitor.meaning.names import MODELLED

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "labels" / "segments.jsonl"
TOPICS = MODELLED  # the topics the model decides (monitor.meaning.names)


def labelled(split: str) -> list[dict]:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["split"] == split and r["label"] is not None]


def prf(predicted: Iterable[bool], gold: Iterable[bool]) -> dict[str, float]:
    pairs = list(zip(predicted, gold, strict=True))
    tp = sum(p and g for p, g in pairs)
    fp = sum(p and not g for p, g in pairs)
    fn = sum(g and not p for p, g in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def predictions(rows: list[dict], model=None, gate: float | None = None) -> dict[str, Callable[[int, str], bool]]:
    """For each way of deciding, a function (row index, topic) → the topic was found."""
    from monitor.meaning.model import load_model
    from monitor.meaning.topics import DEFAULT_GATE, decide, rule_hits, states_exact_fact

    model = model or load_model("en")
    rules = [set(rule_hits(r["text"], r["heading"])) for r in rows]
    facts = [{t for t in found if states_exact_fact(t, r["text"])} for found, r in zip(rules, rows, strict=True)]
    probs = [model.probabilities(r["text"], r["heading"]) for r in rows]

    def way(name: str) -> Callable[[int, str], bool]:
        def found(i: int, t: str) -> bool:
            chosen_gate = gate if gate is not None else model.gates.get(t, DEFAULT_GATE)
            return decide(name, t in rules[i], probs[i][t], model.thresholds[t], chosen_gate, t in facts[i])
        return found

    ways = {name: way(name) for name in ("rules", "model", "gated", "either")}
    # "combined" is what `classify` ships: each topic decided the way its model file names
    ways["combined"] = lambda i, t: ways[model.combination.get(t, "model")](i, t)
    return ways


def score(rows: list[dict], topics: Iterable[str] = TOPICS, model=None,
          gate: float | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """{way: {topic: precision/recall/f1/support}} on the given rows (default: the shipped model)."""
    ways = predictions(rows, model, gate)
    return {way: {t: prf((decide(i, t) for i in range(len(rows))), (t in r["label"] for r in rows))
                  for t in topics}
            for way, decide in ways.items()}
