"""Quick dev scorer for tuning significance: dev histories' normalized texts rated in order, scored as bench_replay.

`bench_replay.py` is the measure (the real `check` path: loopback server, changing chrome, SQLite);
this is the tuning loop. Each dev version is dressed in the same chrome, normalized and guarded once,
then each changed step is rated with `changes_between` and scored with `tests/replay.score`, so a change
to the significance stage is measured in about a minute. It printed `bench_replay --split dev`'s
figures exactly before and after the fourth significance pass (docs/significance-on-histories.md).
Dev services only (train + dev): it has no way to read the test split.

Usage: .venv/bin/python benchmarks/replay_texts.py [--misses] [--cache FILE]
`--cache FILE` keeps the normalized texts between runs (they depend on the normalizer and the guard,
not on significance); delete the file after changing either.
"""

from __future__ import annotations

import argparse
import json
import pickle
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


def rated(job: tuple[str, list[Step]]) -> ServiceReplay:
    """The results `check --json` would give for each step (status, blink back, alert topics)."""
    from monitor.meaning.names import WATCHED
    from monitor.meaning.significance import changes_between

    name, steps = job
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
        replays = list(pool.map(rated, steps.items()))
    s = score(replays, labelled_pairs(), set(dev))
    print(f"dev: {s.pairs} pairs, topic P {s.precision:.3f} R {s.recall:.3f} ({s.tp} true, {s.fp} false, "
          f"{s.fn} missed), cosmetic alerted {s.cosmetic_alerted} of {s.cosmetic}, "
          f"blinks alerted {s.blinks_alerted} of {s.blinks}")
    if args.misses:
        print("\n".join("    " + m for m in s.misses))


if __name__ == "__main__":
    main()
