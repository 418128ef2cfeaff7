"""Build the shipped topic model from the labelled segments: `make model` (fixed seed, same bytes every time).

Hyper-parameters (regularisation, class weights, decision thresholds) and the way model and rules
combine per topic are chosen on out-of-fold predictions over the train and dev policies (5 folds
grouped by policy: the dev split alone has too few children's paragraphs to choose on); the final
model is fitted on train + dev with them. The test split is never read here.
Needs the `train` extra (scikit-learn). Usage: python -m training.train_model [--report]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from monitor.meaning.model import features
from monitor.meaning.names import MODELLED
from monitor.meaning.topics import decide
from training import evaluate

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "labels" / "segments.jsonl"
OUT = ROOT / "monitor" / "meaning" / "models" / "en.json"
TOPICS = MODELLED  # the topics the model decides (monitor.meaning.names)
SEED = 20261203
C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0)
MIN_PRECISION = 0.85  # thresholds favour precision: a false topic is a false alert
WAYS = ("model", "gated", "either", "rules")  # rules have no ads_ai: scored as never finding it
GATES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.25, 0.4)
# Thresholds start at 0.25 (percent): a lower one fits a few dev paragraphs and then fires on any short
# clause, whose probability sits near the base rate ("We do not sell…" read as minors at 0.078).
MIN_THRESHOLD = 25
FOLDS = 5  # grouped by policy: every choice is made on out-of-fold predictions for train + dev


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
    for step in range(MIN_THRESHOLD, 96):
        t = step / 100
        p, r, f = prf([s >= t for s in scores], gold)
        candidates.append((p >= MIN_PRECISION, f, -abs(t - 0.5), t, (p, r, f)))
    _, _, _, t, figures = max(candidates)
    return t, figures


def out_of_fold(data: list[dict]) -> dict[tuple[float, bool], dict[str, list[float]]]:
    """For every (C, class weighting): each row's probability per topic from a model that never saw its
    policy (grouped k-fold over services; deterministic)."""
    from sklearn.model_selection import GroupKFold

    groups = [r["service"] for r in data]
    docs = [(r["text"], r["heading"]) for r in data]
    found = {(c, b): {t: [0.0] * len(data) for t in TOPICS} for c in C_GRID for b in (False, True)}
    for fit_rows, held_out in GroupKFold(n_splits=FOLDS).split(docs, groups=groups):
        vectorizer = _vectorizer()
        x_fit = vectorizer.fit_transform([docs[i] for i in fit_rows])
        x_held = vectorizer.transform([docs[i] for i in held_out])
        for topic in TOPICS:
            y = [topic in data[i]["label"] for i in fit_rows]
            for (c, balanced), table in found.items():
                scores = _classifier(c, balanced).fit(x_fit, y).predict_proba(x_held)[:, 1]
                for i, score in zip(held_out, scores, strict=True):
                    table[topic][i] = float(score)
    return found


def tune(data: list[dict], oof: dict, topics: tuple[str, ...] = TOPICS) -> dict:
    """Per topic, the (C, class weighting, threshold) with the best out-of-fold F1 at the precision floor."""
    chosen: dict[str, dict] = {}
    for topic in topics:
        gold = [topic in r["label"] for r in data]
        for (c, balanced), table in oof.items():
            t, (p, r, f) = best_threshold(table[topic], gold)
            key = (p >= MIN_PRECISION, round(f, 6), -c)
            if topic not in chosen or key > chosen[topic]["key"]:
                chosen[topic] = {"key": key, "C": c, "balanced": balanced, "threshold": t,
                                 "figures": (p, r, f)}
    return chosen


def combine(data: list[dict], oof: dict, chosen: dict,
            rules: list[set[str]] | None = None) -> tuple[dict[str, str], dict[str, float], dict]:
    """Per topic, how model and rules combine best out of fold, and the gate of the gated ways.
    `rules`: each row's rule topics, when the caller has them already."""
    from monitor.meaning.topics import rule_hits

    if rules is None:
        rules = [set(rule_hits(r["text"], r["heading"])) for r in data]
    combination, gates, report = {}, {}, {}
    for topic in TOPICS:
        gold = [topic in r["label"] for r in data]
        probs = oof[(chosen[topic]["C"], chosen[topic]["balanced"])][topic]
        threshold = chosen[topic]["threshold"]
        found = [topic in hit for hit in rules]

        def figures(way: str, gate: float, probs=probs, found=found, gold=gold,
                    threshold=threshold) -> dict[str, float]:
            return evaluate.prf([decide(way, found[i], probs[i], threshold, gate) for i in range(len(data))], gold)

        gates[topic] = max(GATES, key=lambda g: (figures("gated", g)["precision"] >= MIN_PRECISION,
                                                  round(figures("gated", g)["f1"], 6), -g))
        report[topic] = {w: figures(w, gates[topic]) for w in WAYS}
        combination[topic] = max(WAYS, key=lambda w: (report[topic][w]["precision"] >= MIN_PRECISION,
                                                      round(report[topic][w]["f1"], 6), w == "model"))
    return combination, gates, report


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
    data = rows("train", "dev")
    oof = out_of_fold(data)
    chosen = tune(data, oof)
    combination, gates, report = combine(data, oof, chosen)
    for topic in TOPICS:
        print(f"{topic:<10} C={chosen[topic]['C']:<5} balanced={chosen[topic]['balanced']!s:<5} "
              f"threshold={chosen[topic]['threshold']:.2f} gate={gates[topic]}  out-of-fold P/R/F1 " +
              "  ".join(f"{w} {_prf_text(report[topic][w])}" for w in WAYS) + f"  → {combination[topic]}")
    model = export(chosen, data, combination, gates)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {OUT.stat().st_size / 1e6:.2f} MB, {len(model['vocabulary'])} features")


if __name__ == "__main__":
    sys.exit(main())
