"""Did a labelling round help? Models fitted on the train policies' paragraphs with and without the round,
scored on the same randomly drawn dev paragraphs of the earlier rounds (never the test split).

Prints per topic the average precision and the best F1 at precision ≥ 0.85 of each model.
Usage: python -m training.compare_rounds [FIRST_BATCH]   (default 14: round 3 is batches seg_14 … seg_19)
"""

from __future__ import annotations

import json
import sys

import numpy as np

from training import train_model
from training.labels import LABELLING


def _best_f1(scores: np.ndarray, gold: np.ndarray) -> float:
    best = 0.0
    for threshold in np.arange(0.05, 0.96, 0.01):
        found = scores >= threshold
        tp = float((found & gold).sum())
        precision, recall = tp / max(found.sum(), 1), tp / max(gold.sum(), 1)
        if precision >= train_model.MIN_PRECISION and precision + recall:
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def main(first_batch: int = 14) -> None:
    from sklearn.metrics import average_precision_score

    batches = json.loads((LABELLING / "labellers.json").read_text())
    later = {labeller for name, pair in batches.items() if name.startswith("seg_") and int(name[4:]) >= first_batch
             for labeller in pair.values()}
    rows = train_model.rows("train", "dev")
    new = [r for r in rows if r["labeller_a"] in later]
    earlier = [r for r in rows if r["labeller_a"] not in later]
    dev = [r for r in earlier if r["split"] == "dev" and r["drawn"] == "random"]
    print(f"{len(new)} paragraphs from batch seg_{first_batch} on; scored on {len(dev)} random dev paragraphs "
          "of the earlier rounds")
    for name, train in (("without", [r for r in earlier if r["split"] == "train"]),
                        ("with", [r for r in rows if r["split"] == "train"])):
        vectorizer = train_model._vectorizer()
        x = vectorizer.fit_transform([(r["text"], r["heading"]) for r in train])
        x_dev = vectorizer.transform([(r["text"], r["heading"]) for r in dev])
        cells = []
        for topic in train_model.TOPICS:
            model = train_model._classifier(16.0, False).fit(x, [topic in r["label"] for r in train])
            scores = model.predict_proba(x_dev)[:, 1]
            gold = np.array([topic in r["label"] for r in dev])
            cells.append(f"{topic} AP {average_precision_score(gold, scores):.3f} "
                         f"F1@P≥0.85 {_best_f1(scores, gold):.3f}")
        print(f"{name:<8} ({len(train)} train paragraphs): " + " | ".join(cells))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 14)
