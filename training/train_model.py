"""Build the shipped topic model from the labelled segments: `make model` (fixed seed, same bytes every time).

Hyper-parameters (regularisation, class weights, decision thresholds) are chosen on the dev split;
the final model is fitted on train + dev with them. The test split is never read here.
Needs the `train` extra (scikit-learn). Usage: python -m training.train_model [--report]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from monitor.meaning.model import TopicModel, features
from training import evaluate

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "labels" / "segments.jsonl"
OUT = ROOT / "monitor" / "meaning" / "models" / "en.json"
TOPICS = ("sharing", "retention", "minors", "ads_ai")
SEED = 20261203
C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0)
MIN_PRECISION = 0.85  # thresholds favour precision: a false topic is a false alert
WAYS = ("model", "gated", "either", "rules")
GATES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.25, 0.4)  # rules have no ads_ai: scored as never finding it


def rows(*splits: str) -> list[dict]:
    """Labelled segments of the given splits; never the test split unless asked for by name."""
    out = []
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["split"] in splits and row["label"] is not None:
            out.append(row)
    return out


def _vectorizer():
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=lambda doc: features(*doc), min_df=2, sublinear_tf=True, smooth_idf=True,
                           norm="l2", dtype=np.float64)


def _classifier(c: float, balanced: bool):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="liblinear", random_state=SEED, class_weight="balanced" if balanced else None)


def prf(predicted: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    figures = evaluate.prf(predicted, gold)
    return figures["precision"], figures["recall"], figures["f1"]


def best_threshold(scores: list[float], gold: list[bool]) -> tuple[float, tuple[float, float, float]]:
    """The threshold with the best F1 among those reaching MIN_PRECISION (else the best F1 overall)."""
    candidates = []
    for step in range(1, 96):
        t = step / 100
        p, r, f = prf([s >= t for s in scores], gold)
        candidates.append((p >= MIN_PRECISION, f, -abs(t - 0.5), t, (p, r, f)))
    _, _, _, t, figures = max(candidates)
    return t, figures


def tune(train: list[dict], dev: list[dict]) -> dict:
    """Per topic, the (C, class weighting, threshold) with the best dev F1 at the precision floor."""
    vectorizer = _vectorizer()
    x_train = vectorizer.fit_transform([(r["text"], r["heading"]) for r in train])
    x_dev = vectorizer.transform([(r["text"], r["heading"]) for r in dev])
    chosen: dict[str, dict] = {}
    for topic in TOPICS:
        y = [topic in r["label"] for r in train]
        gold = [topic in r["label"] for r in dev]
        for c in C_GRID:
            for balanced in (False, True):
                scores = list(_classifier(c, balanced).fit(x_train, y).predict_proba(x_dev)[:, 1])
                t, (p, r, f) = best_threshold(scores, gold)
                key = (p >= MIN_PRECISION, round(f, 6), -c)
                if topic not in chosen or key > chosen[topic]["key"]:
                    chosen[topic] = {"key": key, "C": c, "balanced": balanced, "threshold": t}
    return chosen


def export(chosen: dict, data: list[dict], combination: dict[str, str], gates: dict[str, float]) -> dict:
    """One vocabulary; per topic the weights of a logistic regression fitted with that topic's settings."""
    vectorizer = _vectorizer()
    x = vectorizer.fit_transform([(r["text"], r["heading"]) for r in data])
    weights, bias = {}, {}
    for topic in TOPICS:
        settings = chosen[topic]
        model = _classifier(settings["C"], settings["balanced"]).fit(x, [topic in r["label"] for r in data])
        weights[topic] = [round(float(w), 5) for w in model.coef_[0]]
        bias[topic] = round(float(model.intercept_[0]), 5)
    return {
        "about": "policy-monitor topic model (logistic regression over word n-grams, sublinear tf-idf). Built by "
                 "`make model` from data/labels/segments.jsonl: text of Open Terms Archive contributors' "
                 "recordings (ODC-BY 1.0), labels by the policy-monitor project.",
        "language": "en",
        "topics": list(TOPICS),
        "trained_on": {"segments": len(data), "splits": sorted({r["split"] for r in data})},
        "settings": {t: {"C": chosen[t]["C"], "balanced": chosen[t]["balanced"]} for t in TOPICS},
        "thresholds": {t: chosen[t]["threshold"] for t in TOPICS},
        "combination": combination,
        "gates": gates,
        "vocabulary": [str(f) for f in vectorizer.get_feature_names_out()],
        "idf": [round(float(v), 5) for v in vectorizer.idf_],
        "weights": weights,
        "bias": bias,
    }


def _prf_text(figures: dict[str, float]) -> str:
    return f"{figures['precision']:.2f}/{figures['recall']:.2f}/{figures['f1']:.3f}"


def main() -> None:
    train, dev = rows("train"), rows("dev")
    chosen = tune(train, dev)
    # which combination of model and rules wins, per topic, on dev (with a model that never saw dev)
    dev_model = TopicModel.from_dict(export(chosen, train, {}, {}))
    gates = {}
    for topic in TOPICS:  # how unlikely the model must find a rule's topic to overrule it
        candidates = []
        for gate in GATES:
            figures = evaluate.score(dev, (topic,), model=dev_model, gate=gate)["gated"][topic]
            candidates.append((figures["precision"] >= MIN_PRECISION, round(figures["f1"], 6), -gate, gate))
        gates[topic] = max(candidates)[3]
    dev_model = TopicModel.from_dict(export(chosen, train, {}, gates))
    figures = evaluate.score(dev, model=dev_model)
    combination = {}
    for topic in TOPICS:
        ways = [w for w in WAYS if topic in figures[w]]
        combination[topic] = max(ways, key=lambda w: (figures[w][topic]["precision"] >= MIN_PRECISION,
                                                      round(figures[w][topic]["f1"], 6), w == "model"))
        print(f"{topic:<10} C={chosen[topic]['C']:<5} balanced={chosen[topic]['balanced']!s:<5} "
              f"threshold={chosen[topic]['threshold']:.2f} gate={gates[topic]}  dev P/R/F1 " +
              "  ".join(f"{w} {_prf_text(figures[w][topic])}" for w in ways) + f"  → {combination[topic]}")
    model = export(chosen, train + dev, combination, gates)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {OUT.stat().st_size / 1e6:.2f} MB, {len(model['vocabulary'])} features")


if __name__ == "__main__":
    sys.exit(main())
