"""The trained topic model: word n-grams of a clause and its heading → the probability of each topic.

A language is a data set plus a word list, not code: `models/<lang>.json` holds the vocabulary, the
idf weights, one logistic-regression weight vector per topic (those two as packed doubles: `packed_floats`)
and the decision thresholds, built by `make model` from `data/labels/` (see `training/train_model.py`).
Inference is plain Python over a sparse vector: no numpy, no pickle, nothing downloaded.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from operator import mul

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_DIGITS = re.compile(r"\d+")
def features(text: str, heading: str = "") -> list[str]:
    """The model's features: lower-cased words and word pairs of the text, and the heading's words.

    >>> features("We keep logs for 12 months.", "Retention")
    ['we', 'keep', 'logs', 'for', '0', 'months', 'we keep', 'keep logs', 'logs for', 'for 0', '0 months', 'h:retention']
    """
    # digits become "0" before the text is split: a run of digits never spans two words, so this is
    # the same as rewriting each word, in one regex call instead of one per word
    words = _WORD.findall(_DIGITS.sub("0", text.lower()))
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    heading_words = dict.fromkeys(_WORD.findall(_DIGITS.sub("0", heading.lower())))
    return words + pairs + [f"h:{w}" for w in heading_words]


@dataclass(frozen=True)
class TopicModel:
    """One language's model: `probabilities()` of every topic for a text and its heading."""

    language: str
    topics: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    bias: dict[str, float]
    thresholds: dict[str, float]
    combination: dict[str, str]  # per topic: how the model and the rules combine ("model", "gated", …)
    gates: dict[str, float]  # per topic: below this probability the model overrules a rule's hit

    @classmethod
    def from_dict(cls, raw: dict) -> TopicModel:
        """The model of a file's dict (its float arrays packed, see `packed_floats`) or of the same dict with
        plain lists (as training builds it before writing)."""
        return cls(raw["language"], tuple(raw["topics"]), {f: i for i, f in enumerate(raw["vocabulary"])},
                   unpacked_floats(raw["idf"]), {t: unpacked_floats(raw["weights"][t]) for t in raw["topics"]},
                   dict(raw["bias"]), dict(raw["thresholds"]), dict(raw.get("combination", {})),
                   dict(raw.get("gates", {})))

    def probabilities(self, text: str, heading: str = "") -> dict[str, float]:
        """P(topic | text, heading) for every topic; an empty text is about nothing."""
        counts = Counter(map(self.vocabulary.get, features(text, heading)))  # in order of first sight
        counts.pop(None, None)  # features outside the vocabulary
        indices = list(counts)
        idf, log = self.idf, math.log
        values = [(1 + log(c)) * idf[i] for i, c in counts.items()]  # sublinear tf × idf
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        out = {}
        for topic in self.topics:
            # the same products summed in the same order as a loop over the vector: the same floats
            score = self.bias[topic] + sum(map(mul, map(self.weights[topic].__getitem__, indices), values)) / norm
            out[topic] = 1 / (1 + math.exp(-max(-30.0, min(30.0, score))))
        return out

    def strongest_feature(self, text: str, heading: str, topic: str) -> str | None:
        """The text's feature that pushes hardest towards `topic` (the evidence of a model-only hit)."""
        w = self.weights[topic]
        best, best_weight = None, 0.0
        for feature in features(text):
            index = self.vocabulary.get(feature)
            if index is not None and w[index] * self.idf[index] > best_weight:
                best, best_weight = feature, w[index] * self.idf[index]
        return best


def packed_floats(values: Sequence[float]) -> str:
    """How the model file keeps its long float arrays (idf, weights): the values' IEEE 754 doubles, little-endian,
    in base64. A JSON list of 290,000 numbers took 60 ms to parse in every process that rates a change; this
    takes ~2 ms, and gives back the same floats (a double is stored, not a decimal)."""
    doubles = array("d", values)
    if sys.byteorder == "big":
        doubles.byteswap()
    return base64.b64encode(doubles.tobytes()).decode("ascii")


def unpacked_floats(stored: str | Sequence[float]) -> tuple[float, ...]:
    """The floats `packed_floats` wrote (or a plain list of them, as training holds them before writing)."""
    if not isinstance(stored, str):
        return tuple(stored)
    doubles = array("d", base64.b64decode(stored))
    if sys.byteorder == "big":
        doubles.byteswap()
    return tuple(doubles)


def primary_language(tag: str) -> str:
    """The primary subtag of a language tag, the one way it is read everywhere: "de-AT", "DE_at" → "de"."""
    return tag.replace("_", "-").split("-")[0].strip().lower()


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """The languages a model ships for (primary subtags, e.g. "en")."""
    folder = resources.files("monitor.meaning") / "models"
    return tuple(sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")))


def knows_language(language: str) -> bool:
    """Whether topics can be judged in a language (its primary subtag: "de-AT" is "de")."""
    return primary_language(language) in available_languages()


@lru_cache(maxsize=4)
def load_model(language: str = "en") -> TopicModel:
    """The shipped model of a language (loaded once per process)."""
    raw = json.loads((resources.files("monitor.meaning") / "models" / f"{language}.json").read_text("utf-8"))
    return TopicModel.from_dict(raw)
