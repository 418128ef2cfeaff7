"""Quick dev scorer for tuning significance: dev histories' normalized texts rated in order, scored as bench_replay.

`bench_replay.py` is the measure (the real `check` path: loopback server, changing chrome, SQLite);
this is the tuning loop. Each dev version is dressed in the same chrome, normalized and guarded once,
then each changed step is rated with `changes_between` and scored with `tests/replay.score`, so a change
to the significance stage is measured in about a minute. It printed `bench_replay --split dev`'s
figures exactly before and after the fourth significance pass (docs/significance-on-histories.md).
Dev services only (train + dev): it has no way to read the test split.

Usage: .venv/bin/python benchmarks/replay_texts.py [--misses] [--cache FILE] [--held-out-model] [--pairs FILE]
`--cache FILE` keeps the normalized texts between runs (they depend on the normalizer and the guard,
not on significance); delete the file after changing either.

`--held-out-model`: the shipped topic model was fitted on the train and dev policies' paragraphs, so on
the dev histories it reads text it has seen, and its probabilities there are surer than on a policy it
meets for the first time (the test services, or any watched policy). With this flag each service is
rated by a model fitted the same way (the shipped model's settings, thresholds, gates and combination)
on the segments of the other train and dev services only: 5 folds grouped as `data/splits.json` groups
services (needs the `train` extra, scikit-learn). Figures then say how the rules and the model combine
on text the model has not seen.

`--pairs FILE`: score only the labelled pairs whose ids are listed in FILE (one a line); `--not-pairs
FILE` scores only those not listed (e.g. pairs labelled after some tuning, as a held-out check).

`--halves`: also score each half of the dev history services apart (`dev_halves`: a fixed shuffle, services
of one `data/splits.json` group kept together, each next group to the half with fewer labelled pairs).
`--half a` (or `b`) scores and lists the misses of that half only: read misses on one half, and keep a
change only if it helps the half whose misses were not read (then the reverse).
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.replay import RecordedVersion, ServiceReplay, dress, labelled_pairs, load_histories, score  # noqa: E402

# One step of a history as `check` would see it: (version name, status, previous text, text, is a blink back)
Step = tuple[str, str, str | None, str | None, bool]


def steps_of(job: tuple[str, list[RecordedVersion]]) -> tuple[str, list[Step]]:
    """Each version dressed, normalized and guarded as a check does, against the last accepted text."""
    from monitor.capture import guard
    from monitor.capture.document import document_text

    name, versions = job
    steps: list[Step] = []
    latest: str | None = None
    seen: set[str] = set()
    for number, version in enumerate(versions, 1):
        text = document_text(dress(version.text, number).encode(), content_type="text/html; charset=utf-8")
        if not guard.judge(text, previous=latest, language="en").accepted:
            steps.append((version.name, "rejected", None, None, False))
        elif latest is None:
            steps.append((version.name, "new", None, None, False))
        elif text == latest:
            steps.append((version.name, "unchanged", None, None, False))
        else:
            steps.append((version.name, "changed", latest, text, text in seen))
        if steps[-1][1] in ("new", "changed"):
            seen.add(text)
            latest = text
    return name, steps


HALVES_SEED = 12  # the number: any fixed seed, chosen once and not tried against others


def dev_halves(services: list[str], pairs: list[dict]) -> tuple[list[str], list[str]]:
    """The labelled dev history services in two halves of about as many labelled pairs each, by service:
    groups of services in `data/splits.json` (the same policy under several names) stay together."""
    group_of = {s: i for i, group in enumerate(json.loads((ROOT / "data" / "splits.json").read_text())["groups"])
                for s in group}
    labelled = {p["service"] for p in pairs if p["label"] is not None} & set(services)
    units: dict[object, list[str]] = {}
    for service in sorted(labelled):
        units.setdefault(group_of.get(service, service), []).append(service)
    shuffled = sorted(units.values())
    random.Random(HALVES_SEED).shuffle(shuffled)
    halves: tuple[list[str], list[str]] = ([], [])
    size = [0, 0]
    for unit in shuffled:
        side = 0 if size[0] <= size[1] else 1
        halves[side].extend(unit)
        size[side] += sum(1 for p in pairs if p["service"] in unit and p["label"] is not None)
    return sorted(halves[0]), sorted(halves[1])


FOLDS = 5  # held-out models: services grouped as data/splits.json groups them, each group in one fold


def held_out_models(services: list[str]) -> dict[str, object]:
    """Per service, a topic model fitted like the shipped one on the train and dev segments of the other
    folds' services only (the shipped model's settings, thresholds, gates and combination kept)."""
    from sklearn.model_selection import GroupKFold

    from monitor.meaning.model import TopicModel, load_model
    from training.train_model import _classifier, _vectorizer, rows

    shipped = load_model("en")
    raw = json.loads((ROOT / "monitor" / "meaning" / "models" / "en.json").read_text(encoding="utf-8"))
    groups_of = {s: i for i, group in enumerate(json.loads((ROOT / "data" / "splits.json").read_text())["groups"])
                 for s in group}
    data = rows("train", "dev")
    group = [f"g{groups_of[r['service']]}" if r["service"] in groups_of else r["service"] for r in data]
    docs = [(r["text"], r["heading"]) for r in data]
    models: dict[str, object] = {}
    for fit_rows, held in GroupKFold(n_splits=FOLDS).split(docs, groups=group):
        held_services = {data[i]["service"] for i in held}
        vectorizer = _vectorizer()
        x = vectorizer.fit_transform([docs[i] for i in fit_rows])
        weights, bias = {}, {}
        for topic in shipped.topics:
            settings = raw["settings"][topic]
            gold = [topic in data[i]["label"] for i in fit_rows]
            fitted = _classifier(settings["C"], settings["balanced"]).fit(x, gold)
            weights[topic] = tuple(float(w) for w in fitted.coef_[0])
            bias[topic] = float(fitted.intercept_[0])
        model = TopicModel("en", shipped.topics, {str(f): i for i, f in enumerate(vectorizer.get_feature_names_out())},
                           tuple(float(v) for v in vectorizer.idf_), weights, bias, dict(shipped.thresholds),
                           dict(shipped.combination), dict(shipped.gates))
        for service in services:
            if service in held_services or (service in groups_of and any(
                    groups_of.get(s) == groups_of[service] for s in held_services)):
                models[service] = model
        models.setdefault("", model)  # a service without labelled segments: any fold's model has not seen it
    return {s: models.get(s, models[""]) for s in services}


def use_model(model: object) -> None:
    """Rate with `model` instead of the shipped one in this process (the topic caches emptied)."""
    from monitor.meaning import topics

    topics.load_model = lambda language="en": model  # type: ignore[assignment]
    topics._classify.cache_clear()
    topics.model_finds.cache_clear()


def rated(job: tuple[str, list[Step]] | tuple[str, list[Step], object]) -> ServiceReplay:
    """The results `check --json` would give for each step (status, blink back, alert topics)."""
    from monitor.meaning.names import WATCHED
    from monitor.meaning.significance import changes_between

    name, steps = job[0], job[1]
    if len(job) > 2:
        use_model(job[2])
    results = []
    for _, status, previous, text, blink in steps:
        result: dict = {"status": status}
        if status == "changed":
            assert previous is not None and text is not None
            changes = changes_between(previous, text, WATCHED, "en")
            result["reverts_to"] = 1 if blink else None
            result["alert_topics"] = [] if blink else sorted({t for c in changes for t in c.alert_topics(WATCHED)})
        results.append(result)
    return ServiceReplay(name, [s[0] for s in steps], results, [0.0] * len(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the pairs where alerts and labels differ")
    parser.add_argument("--cache", type=Path, help="keep the normalized texts in this file between runs")
    parser.add_argument("--held-out-model", action="store_true",
                        help="rate each service with a model fitted without its segments (5 folds)")
    parser.add_argument("--pairs", type=Path, help="score only the pairs whose ids this file lists")
    parser.add_argument("--not-pairs", type=Path, help="score only the pairs whose ids this file does not list")
    parser.add_argument("--halves", action="store_true", help="also score each half of the dev services apart")
    parser.add_argument("--half", choices=("a", "b"),
                        help="score and list the misses of this half of the dev services only")
    args = parser.parse_args()
    splits = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    dev = sorted(s for s, split in splits.items() if split in ("train", "dev"))
    with ProcessPoolExecutor(max_workers=2) as pool:
        if args.cache and args.cache.exists():
            steps = pickle.loads(args.cache.read_bytes())
        else:
            steps = dict(pool.map(steps_of, load_histories(services=dev).items()))
            if args.cache:
                args.cache.write_bytes(pickle.dumps(steps))
        if args.held_out_model:
            models = held_out_models(sorted(steps))
            jobs = [(name, service_steps, models[name]) for name, service_steps in steps.items()]
            replays = list(pool.map(rated, jobs))
        else:
            replays = list(pool.map(rated, steps.items()))
    pairs = labelled_pairs()
    half_a, half_b = dev_halves(dev, pairs)  # of every labelled pair, so --pairs does not move a service
    if args.pairs:
        listed = set(args.pairs.read_text().split())
        pairs = [p for p in pairs if p["id"] in listed]
    if args.not_pairs:
        listed = set(args.not_pairs.read_text().split())
        pairs = [p for p in pairs if p["id"] not in listed]
    scored = {"dev": set(dev)}
    if args.halves:
        scored.update({"half a": set(half_a), "half b": set(half_b)})
    if args.half:
        scored = {f"half {args.half}": set(half_a if args.half == "a" else half_b)}
    scores = {label: score(replays, pairs, services) for label, services in scored.items()}
    for label, s in scores.items():
        print(f"{label}: {s.pairs} pairs, topic P {s.precision:.3f} R {s.recall:.3f} ({s.tp} true, {s.fp} false, "
              f"{s.fn} missed), cosmetic alerted {s.cosmetic_alerted} of {s.cosmetic}, "
              f"blinks alerted {s.blinks_alerted} of {s.blinks}")
    if args.misses:  # of the half asked for, else of the whole dev
        print("\n".join("    " + m for m in next(iter(scores.values())).misses))


if __name__ == "__main__":
    main()
