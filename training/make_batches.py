"""Draw the items to label from the corpus and cut them into batches for two independent labellers.

Segments: per train/dev policy, random paragraphs plus paragraphs that mention a topic's vocabulary
(so rare topics have enough positives to learn from); per test policy, random paragraphs only, so
test figures reflect what a monitor sees. Pairs: consecutive versions of the history services, blinks
(a text seen before) left out, at most PAIRS_PER_SERVICE per service spread over its history.
Usage: python -m training.make_batches CORPUS_DIR
"""

from __future__ import annotations

import difflib
import json
import random
import re
import sys
from pathlib import Path

from training.segments import segments_of

ROOT = Path(__file__).resolve().parent.parent
SEED = 7
RANDOM_PER_POLICY = {"train": 9, "dev": 9, "test": 14}
CANDIDATES_PER_POLICY = {"train": 9, "dev": 9, "test": 0}
SEGMENT_BATCH = 440
PAIRS_PER_SERVICE = 12
PAIR_BATCH = 50
MAX_SEGMENT_CHARS = 4000
MAX_DIFF_CHARS = 9000
# broad vocabulary only to enrich the sample; labels come from people reading the guide
_CANDIDATE = re.compile(
    r"shar|disclos|third[- ]part|partner|affiliat|sell|sold|vendor|provider|advertis|retain|retention|"
    r"delet|kept|keep|period|child|minor|under (?:the age|1[3-8])|parent|teen|age of|profil|train|"
    r"machine learning|artificial intelligence|\bAI\b|personaliz|interest-based|targeted", re.I)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " […]"


def segment_items(corpus: Path, split: dict[str, str]) -> list[dict]:
    rng = random.Random(SEED)
    seen: set[str] = set()
    items = []
    for path in sorted((corpus / "policies").glob("*.md")):
        part = split[path.stem]
        segments = [s for s in segments_of(path.stem, path.read_text())
                    if " ".join(s.text.lower().split()) not in seen]
        rng.shuffle(segments)
        chosen = segments[:RANDOM_PER_POLICY[part]]
        rest = [s for s in segments[len(chosen):] if _CANDIDATE.search(s.text)]
        chosen += rest[:CANDIDATES_PER_POLICY[part]]
        for s in chosen:
            seen.add(" ".join(s.text.lower().split()))
            items.append({"id": s.id, "service": s.service, "split": part, "heading": s.heading,
                          "text": _clip(s.text, MAX_SEGMENT_CHARS),
                          "drawn": "random" if s in chosen[:RANDOM_PER_POLICY[part]] else "candidate"})
    return items


def pair_items(corpus: Path, split: dict[str, str]) -> list[dict]:
    items = []
    for service_dir in sorted(p for p in (corpus / "histories").iterdir() if p.is_dir()):
        files = sorted(service_dir.glob("*.md"))
        texts = [f.read_text() for f in files]
        eligible = []
        for i in range(1, len(files)):
            if texts[i] in texts[:i]:
                continue  # a blink back to a text seen before: decided by equality, not by a label
            eligible.append(i)
        step = max(1, len(eligible) / PAIRS_PER_SERVICE)
        picked = sorted({eligible[int(k * step)] for k in range(min(PAIRS_PER_SERVICE, len(eligible)))})
        for i in picked:
            old, new = files[i - 1], files[i]
            diff = "\n".join(difflib.unified_diff(texts[i - 1].splitlines(), texts[i].splitlines(),
                                                  "before", "after", n=1, lineterm=""))
            items.append({"id": f"{service_dir.name}:{old.stem}..{new.stem}", "service": service_dir.name,
                          "split": split[service_dir.name],
                          "before_path": str(old.resolve()), "after_path": str(new.resolve()),
                          "diff": _clip(diff, MAX_DIFF_CHARS)})
    return items


def _write_batches(items: list[dict], size: int, prefix: str, out: Path) -> int:
    count = 0
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        (out / f"{prefix}_{count:02d}.jsonl").write_text(
            "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in batch))
        count += 1
    return count


def main(corpus: Path) -> None:
    split = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    out = ROOT / "data" / "labelling" / "batches"
    out.mkdir(parents=True, exist_ok=True)
    segments = segment_items(corpus, split)
    random.Random(SEED).shuffle(segments)  # batches mix policies: a labeller never reads one policy in a row
    pairs = pair_items(corpus, split)
    random.Random(SEED).shuffle(pairs)
    # labellers see only id, heading/text or diff: the split and draw stay out of the batch files
    public_segments = [{k: s[k] for k in ("id", "heading", "text")} for s in segments]
    public_pairs = [{k: p[k] for k in ("id", "before_path", "after_path", "diff")} for p in pairs]
    n_seg = _write_batches(public_segments, SEGMENT_BATCH, "seg", out)
    n_pair = _write_batches(public_pairs, PAIR_BATCH, "pair", out)
    meta = ROOT / "data" / "labelling"
    (meta / "segments_drawn.jsonl").write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in segments))
    (meta / "pairs_drawn.jsonl").write_text(
        "".join(json.dumps({k: v for k, v in p.items() if k != "diff"}, ensure_ascii=False) + "\n" for p in pairs))
    services = {p["service"] for p in pairs}
    print(f"{len(segments)} segments from {len({s['service'] for s in segments})} policies in {n_seg} batches; "
          f"{len(pairs)} pairs from {len(services)} services in {n_pair} batches")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus"))
