"""The trained topic model: word n-grams of a clause and its heading → the probability of each topic.

A language is a data set plus a word list, not code: `models/<lang>.json` holds the vocabulary, the
idf weights, one logistic-regression weight vector per topic and the decision thresholds, built by
`make model` from `data/labels/` (see `training/train_model.py`). Inference is plain Python over a
sparse vector: no numpy, no pickle, nothing downloaded.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_DIGITS = re.compile(r"\d+")
def features(text: str, heading: str = "") -> list[str]:
    """The model's features: lower-cased words and word pairs of the text, and the heading's words.

    >>> features("We keep logs for 12 months.", "Retention")
    ['we', 'keep', 'logs', 'for', '0', 'months', 'we keep', 'keep logs', 'logs for', 'for 0', '0 months', 'h:retention']
    """
    words = [_DIGITS.sub("0", w) for w in _WORD.findall(text.lower())]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    heading_words = dict.fromkeys(_DIGITS.sub("0", w) for w in _WORD.findall(heading.lower()))
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
        return cls(raw["language"], tuple(raw["topics"]), {f: i for i, f in enumerate(raw["vocabulary"])},
                   tuple(raw["idf"]), {t: tuple(raw["weights"][t]) for t in raw["topics"]}, dict(raw["bias"]),
                   dict(raw["thresholds"]), dict(raw.get("combination", {})), dict(raw.get("gates", {})))

    def probabilities(self, text: str, heading: str = "") -> dict[str, float]:
        """P(topic | text, heading) for every topic; an empty text is about nothing."""
        counts: dict[int, int] = {}
        for feature in features(text, heading):
            index = self.vocabulary.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        vector = {i: (1 + math.log(c)) * self.idf[i] for i, c in counts.items()}  # sublinear tf × idf
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        out = {}
        for topic in self.topics:
            w = self.weights[topic]
            score = self.bias[topic] + sum(w[i] * v for i, v in vector.items()) / norm
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


def primary_language(tag: str) -> str:
    """The primary subtag of a language tag, the one way it is read everywhere: "de-AT", "DE_at" → "de"."""
    return tag.replace("_", "-").split("-")[0].strip().lower()


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """The languages a model ships for (primary subtags, e.g. "en")."""
    folder = resources.files("monitor.meaning") / "models"
    return tuple(sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")))


@lru_cache(maxsize=4)
def load_model(language: str = "en") -> TopicModel:
    """The shipped model of a language (loaded once per process)."""
    raw = json.loads((resources.files("monitor.meaning") / "models" / f"{language}.json").read_text("utf-8"))
    return TopicModel.from_dict(raw)
