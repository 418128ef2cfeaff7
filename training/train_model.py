"""Build the shipped topic model from the labelled segments: `make model` (fixed seed, same bytes every time).

Hyper-parameters (regularisation, class weights, decision thresholds) and the way model and rules
combine per topic are chosen on out-of-fold predictions over the train and dev policies (5 folds grouped
by policy: the dev split alone has too few children's paragraphs to choose on), on the rows not drawn
by uncertainty; the final model is fitted on all of train + dev with them. The test split is never read here.
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
# The ways that can ship. "either" is scored and printed but not shipped: it adds the model's own hits at a
# threshold chosen on paragraphs to the gated ones, and on the clauses of a change that fires on a heading's
# words alone (round 4 chose it for retention at the lowest threshold, 0.25: a period in a security clause
# under a retention heading, and a removed children's section, became retention). "rules" alone is the
# first release's precision problem.
SHIPPED_WAYS = ("model", "gated")
GATES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
# Thresholds start at 0.25 (percent): a lower one fits a few dev paragraphs and then fires on any short
# clause, whose probability sits near the base rate ("We do not sell…" read as minors at 0.078).
MIN_THRESHOLD = 25
# No class weighting: the model is fitted on paragraphs but reads clauses, and "balanced" weights lift
# the intercept of a rare topic towards even odds, so a short clause that says little of anything starts
# there ("We do not sell your personal information." read as minors at 0.40, "Applicants need at least
# 18 years of experience." at 0.32); unweighted, it starts at the topic's base rate.
WEIGHTINGS = (False,)
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
    found = {(c, b): {t: [0.0] * len(data) for t in TOPICS} for c in C_GRID for b in WEIGHTINGS}
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


def ranked_ways(data: list[dict], oof: dict, chosen: dict,
                rules: list[set[str]] | None = None) -> dict[str, list[tuple[str, float, dict]]]:
    """Per topic, every way model and rules can combine (each gated way with each gate), best out of fold
    first: those reaching the precision floor by F1, then the others by F0.5. `rules`: each row's rule
    topics, when the caller has them."""
    from monitor.meaning.topics import rule_hits, states_exact_fact

    if rules is None:
        rules = [set(rule_hits(r["text"], r["heading"])) for r in data]
    ranked = {}
    for topic in TOPICS:
        gold = [topic in r["label"] for r in data]
        probs = oof[(chosen[topic]["C"], chosen[topic]["balanced"])][topic]
        threshold = chosen[topic]["threshold"]
        found = [topic in hit for hit in rules]
        facts = [found[i] and states_exact_fact(topic, r["text"]) for i, r in enumerate(data)]
        candidates = []
        for way in WAYS:
            for gate in (GATES if way in ("gated", "either") else (GATES[0],)):
                figures = evaluate.prf([decide(way, found[i], probs[i], threshold, gate, facts[i])
                                        for i in range(len(data))], gold)
                reaches = figures["precision"] >= MIN_PRECISION
                # below the precision floor, precision counts double (F0.5): a false topic is a false alert
                key = (reaches, round(figures["f1"] if reaches else _f_half(figures), 6), way == "model", -gate)
                candidates.append((key, way, gate, figures))
        ranked[topic] = [(way, gate, figures) for _, way, gate, figures in sorted(candidates, reverse=True)]
    return ranked


def shippable(ranked: dict[str, list[tuple[str, float, dict]]]) -> dict[str, list[tuple[str, float, dict]]]:
    """Each topic's ranked (way, gate, figures), best first, kept to the ways that can ship (SHIPPED_WAYS)."""
    return {t: [entry for entry in entries if entry[0] in SHIPPED_WAYS] for t, entries in ranked.items()}


def _f_half(figures: dict[str, float]) -> float:
    p, r = figures["precision"], figures["recall"]
    return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def combine(data: list[dict], oof: dict, chosen: dict,
            rules: list[set[str]] | None = None) -> tuple[dict[str, str], dict[str, float], dict]:
    """Per topic, the way model and rules combine best out of fold and its gate, and each way's best figures."""
    ranked = ranked_ways(data, oof, chosen, rules)
    best = {t: entries[0] for t, entries in shippable(ranked).items()}
    combination = {t: best[t][0] for t in TOPICS}
    gates = {t: best[t][1] for t in TOPICS}
    return combination, gates, {t: best_by_way(ranked[t]) for t in TOPICS}


def best_by_way(ranked: list[tuple[str, float, dict]]) -> dict[str, dict]:
    """Each way's best figures among one topic's ranked (way, gate, figures)."""
    return {w: next(f for way, _, f in ranked if way == w) for w in WAYS}


def written_sets() -> list[tuple[str, dict[str, float], list[dict]]]:
    """The written regression sets (tests/fixtures/devset): each file's name, floors per topic and rows."""
    folder = ROOT / "tests" / "fixtures" / "devset"
    floors = json.loads((folder / "floors.json").read_text(encoding="utf-8"))["floors"]
    return [(name, per_topic, [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()
                               if line])
            for name, per_topic in sorted(floors.items())]


def written_floors_kept(model: dict, topic: str, sets: list[tuple[str, dict[str, float], list[dict]]]) -> list[str]:
    """The written regression sets (see `written_sets`) where `model` scores `topic` under its floor."""
    from monitor.meaning.model import TopicModel
    from monitor.meaning.topics import classify_with

    trial = TopicModel.from_dict(model)
    under = []
    for name, per_topic, rows in sets:
        if topic not in per_topic:
            continue
        found = [topic in {h.topic for h in classify_with(trial, r["text"], r["context"])} for r in rows]
        f1 = evaluate.prf(found, [topic in r["topics"] for r in rows])["f1"]
        if round(f1, 3) < per_topic[topic]:
            under.append(f"{name} {f1:.3f} < {per_topic[topic]}")
    return under


def keep_written_floors(model: dict, ranked: dict[str, list[tuple[str, float, dict]]]) -> None:
    """Per topic, the best way out of fold that keeps every written regression set at its floor (in place).

    The floors were set once and are never lowered: a model trained on more real text may combine with
    the rules another way, but not one that loses what the written sets check (short explicit clauses
    such as "Emails to our support team are archived for three years.")."""
    sets = written_sets()
    for topic in TOPICS:
        for way, gate, _ in ranked[topic]:
            model["combination"][topic], model["gates"][topic] = way, gate
            under = written_floors_kept(model, topic, sets)
            if not under:
                break
            print(f"  {topic}: {way} (gate {gate}) would break {'; '.join(under)}")
        else:
            raise SystemExit(f"no way of combining {topic} keeps the written sets' floors")


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


def model_file_text(model: dict) -> str:
    """The model file: `model` as JSON, its idf and weight arrays packed (monitor.meaning.model.packed_floats)."""
    from monitor.meaning.model import packed_floats

    stored = {**model, "idf": packed_floats(model["idf"]),
              "weights": {topic: packed_floats(w) for topic, w in model["weights"].items()}}
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":")) + "\n"


def _prf_text(figures: dict[str, float]) -> str:
    return f"{figures['precision']:.2f}/{figures['recall']:.2f}/{figures['f1']:.3f}"


def main() -> None:
    data = rows("train", "dev")
    oof = out_of_fold(data)
    # Every row teaches the weights; thresholds and combinations are chosen on the rows drawn as a monitor
    # meets text (at random, or for their vocabulary), not on those drawn because the previous model was
    # unsure of them: those are borderline by construction, and a threshold fitted to them is too high
    # for ordinary paragraphs (out of fold, on the random rows: sharing F1 0.754 → 0.767, retention
    # 0.805 → 0.823, tuned without them).
    judged = [i for i, r in enumerate(data) if r["drawn"] != "uncertain"]
    tuning_rows = [data[i] for i in judged]
    tuning_oof = {k: {t: [v[t][i] for i in judged] for t in v} for k, v in oof.items()}
    chosen = tune(tuning_rows, tuning_oof)
    ranked = ranked_ways(tuning_rows, tuning_oof, chosen)
    ranked_shippable = shippable(ranked)
    model = export(chosen, data, {t: ranked_shippable[t][0][0] for t in TOPICS},
                   {t: ranked_shippable[t][0][1] for t in TOPICS})
    keep_written_floors(model, ranked_shippable)
    for topic in TOPICS:
        best = best_by_way(ranked[topic])
        kept = next(f for way, gate, f in ranked[topic]
                    if (way, gate) == (model["combination"][topic], model["gates"][topic]))
        print(f"{topic:<10} C={chosen[topic]['C']:<5} balanced={chosen[topic]['balanced']!s:<5} "
              f"threshold={chosen[topic]['threshold']:.2f}  out-of-fold P/R/F1 " +
              "  ".join(f"{w} {_prf_text(best[w])}" for w in WAYS) +
              f"  → {model['combination'][topic]} (gate {model['gates'][topic]}) {_prf_text(kept)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(model_file_text(model), encoding="utf-8")
    print(f"wrote {OUT}: {OUT.stat().st_size / 1e6:.2f} MB, {len(model['vocabulary'])} features")


if __name__ == "__main__":
    sys.exit(main())
