"""Draw another round of training paragraphs (train and dev policies only; never the test split), in
batches for two independent labellers, as `make_batches` does for the first round.

Per policy, half the paragraphs are drawn at random and half by one of two rules: `candidate` (the
paragraph mentions a topic's broad vocabulary, rounds 1–2) or `uncertain` (round 3: the shipped model's
probability for some topic lies closest to that topic's threshold — the paragraphs a labeller's answer
teaches the model most about). Labellers never see which rule drew a paragraph, nor the model's output.

Pairs (`--pairs`): every consecutive pair of the train/dev history services that the first round left
out (its cap of PAIRS_PER_SERVICE per service), blinks excepted as before; the test services' pairs stay
as drawn. The labellers see the same batch files (id, paths, a plain line diff) as in the first round.

Usage: python -m training.more_batches CORPUS_DIR PER_POLICY FIRST_BATCH_NUMBER [--uncertain]
       python -m training.more_batches CORPUS_DIR --pairs FIRST_BATCH_NUMBER
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import training.make_batches as first_round
from training.make_batches import _CANDIDATE, MAX_SEGMENT_CHARS, PAIR_BATCH, ROOT, SEGMENT_BATCH, _clip
from training.segments import Segment, segments_of

SEED = 8


def _margin(segment: Segment) -> float:
    """How close the shipped model is to changing its mind about this paragraph (smaller = closer)."""
    from monitor.meaning.model import load_model

    model = load_model("en")
    found = model.probabilities(segment.text, segment.heading)
    return min(abs(found[t] - model.thresholds[t]) for t in model.topics)


def main(corpus: Path, per_policy: int, first: int, uncertain: bool = False) -> None:
    split = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    drawn_path = ROOT / "data" / "labelling" / "segments_drawn.jsonl"
    drawn = [json.loads(line) for line in drawn_path.read_text().splitlines()]
    seen = {" ".join(d["text"].lower().split()) for d in drawn} | {d["id"] for d in drawn}
    rng = random.Random(SEED + (1 if uncertain else 0))
    items = []
    for path in sorted((corpus / "policies").glob("*.md")):
        part = split[path.stem]
        if part == "test":
            continue
        fresh = [s for s in segments_of(path.stem, path.read_text())
                 if s.id not in seen and " ".join(s.text.lower().split()) not in seen]
        rng.shuffle(fresh)
        half = per_policy // 2
        chosen = fresh[:half]
        rest = fresh[half:]
        if uncertain:
            rest = sorted(rest, key=_margin)
            rule = "uncertain"
        else:
            rest = [s for s in rest if _CANDIDATE.search(s.text)]
            rule = "candidate"
        chosen += rest[:per_policy - half]
        for s in chosen:
            seen.add(" ".join(s.text.lower().split()))
            items.append({"id": s.id, "service": s.service, "split": part, "heading": s.heading,
                          "text": _clip(s.text, MAX_SEGMENT_CHARS),
                          "drawn": "random" if s in chosen[:half] else rule})
    rng.shuffle(items)
    out = ROOT / "data" / "labelling" / "batches"
    out.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(items), SEGMENT_BATCH), start=first):
        batch = [{k: s[k] for k in ("id", "heading", "text")} for s in items[start:start + SEGMENT_BATCH]]
        (out / f"seg_{number:02d}.jsonl").write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in batch))
    with drawn_path.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in items)
    print(f"{len(items)} more segments from {len({s['service'] for s in items})} train/dev policies")


def more_pairs(corpus: Path, first: int) -> None:
    split = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    drawn_path = ROOT / "data" / "labelling" / "pairs_drawn.jsonl"
    drawn = {json.loads(line)["id"] for line in drawn_path.read_text().splitlines()}
    first_round.PAIRS_PER_SERVICE = 10**9  # every eligible pair; the first round's cap no longer applies
    items = [p for p in first_round.pair_items(corpus, split) if p["split"] != "test" and p["id"] not in drawn]
    random.Random(SEED).shuffle(items)  # batches mix services, as in the first round
    out = ROOT / "data" / "labelling" / "batches"
    out.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(items), PAIR_BATCH), start=first):
        public = ("id", "before_path", "after_path", "diff")
        batch = [{k: p[k] for k in public} for p in items[start:start + PAIR_BATCH]]
        lines = "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in batch)
        (out / f"pair_{number:02d}.jsonl").write_text(lines)
    with drawn_path.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps({k: v for k, v in p.items() if k != "diff"}, ensure_ascii=False) + "\n" for p in items)
    print(f"{len(items)} more pairs from {len({p['service'] for p in items})} train/dev services")


if __name__ == "__main__":
    if sys.argv[2] == "--pairs":
        more_pairs(Path(sys.argv[1]), int(sys.argv[3]))
    else:
        main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), "--uncertain" in sys.argv[4:])
