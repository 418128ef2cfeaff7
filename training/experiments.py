"""Out-of-fold comparison of topic-model variants on the train + dev policies (never the test split).

Every variant is scored the way `training/train_model.py` chooses the shipped model: 5 folds grouped by
policy, per topic the (C, class weighting, threshold) with the best out-of-fold F1 at precision ≥ 0.85,
then the best way of combining with the rules (model / gated / either / rules). Prints per topic the
model alone and the chosen combination (P/R/F1), so every row of the table can be reproduced.

Usage: python -m training.experiments [variant ...] [--shuffle N]   (no variant: all; --list names them;
--shuffle N groups the policies into other folds, seeded, to measure how much a difference is luck)

The variants: `shipped` the recipe of the model before clause aggregation (words, word pairs, heading
words; C 1–16); `wider-C` the same with C up to 64; `trigrams` / `skipgrams` / `heading-pairs` more word
features; `heading-block*` the heading as a block of its own, weighted; `chars` / `words+chars`
character 2–5-grams; `nb*` features scaled by their log-count ratio per topic; `clause-max*` a paragraph
scored as mix × itself + (1 − mix) × its likeliest clause (`clauses` below);
`clause-neg*` that, trained also on the clauses of paragraphs without the topic as negatives;
`rule-*` the rules' topics as features; `ens-*` the mean of two variants' probabilities;
`names*` also generic tokens for the parties and addresses a text names (`name_features`: "with __name__");
`pseudo*` self-training on the unlabelled paragraphs of the fit policies (`unlabelled`; never a test policy).
Fits use liblinear's dual solver, 8× faster than the primal one `make model` uses (coefficients agree to ~1e-2).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from monitor.meaning.model import features
from training import train_model

TOPICS = train_model.TOPICS
# liblinear's dual solver: the same L2 logistic regression (coefficients agree to ~1e-2), 8× faster on
# these wide sparse matrices, which makes a table of variants affordable on a shared 2-core machine
DUAL = True


# ------------------------------------------------------------------------------------------------
# Feature blocks: each turns (text, heading) documents into a sparse matrix, fitted on the fit rows


def _words(doc: tuple[str, str]) -> list[str]:
    return features(*doc)


def _words_trigrams(doc: tuple[str, str]) -> list[str]:
    out = features(*doc)
    words = [w for w in out if " " not in w and not w.startswith("h:")]
    return out + [f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)]


def _words_skip(doc: tuple[str, str]) -> list[str]:
    """Words, pairs and pairs with one word skipped ("share _ with")."""
    out = features(*doc)
    words = [w for w in out if " " not in w and not w.startswith("h:")]
    return out + [f"{a} _ {c}" for a, c in zip(words, words[2:], strict=False)]


def _words_heading_pairs(doc: tuple[str, str]) -> list[str]:
    out = features(*doc)
    import re
    hw = [w for w in re.findall(r"[^\W_]+", doc[1].lower())]
    return out + [f"h:{a} {b}" for a, b in zip(hw, hw[1:], strict=False)]


def _text_only(doc: tuple[str, str]) -> list[str]:
    return features(doc[0], "")


def _heading_only(doc: tuple[str, str]) -> list[str]:
    return [f for f in features("", doc[1])]


def word_block(analyzer: Callable = _words, min_df: int = 2):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=analyzer, min_df=min_df, sublinear_tf=True, norm="l2", dtype=np.float64)


def char_block(low: int = 2, high: int = 5, min_df: int = 3):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(low, high), min_df=min_df, sublinear_tf=True,
                          lowercase=True, norm="l2", dtype=np.float64)
    return _OnText(vec)


class _OnText:
    """A vectorizer over the text part of (text, heading) documents."""

    def __init__(self, vec):
        self.vec = vec

    def fit_transform(self, docs):
        return self.vec.fit_transform([d[0] for d in docs])

    def transform(self, docs):
        return self.vec.transform([d[0] for d in docs])


_RULE_TOPICS: dict[tuple[str, str], list[str]] = {}


def _rule_features(doc: tuple[str, str]) -> list[str]:
    """The topics the hand-written rules find, as features ("r:sharing"): the model weighs the rules."""
    from monitor.meaning.topics import rule_hits

    if doc not in _RULE_TOPICS:
        _RULE_TOPICS[doc] = [f"r:{t}" for t in rule_hits(doc[0], doc[1])]
    return _RULE_TOPICS[doc]


def _words_and_rules(doc: tuple[str, str]) -> list[str]:
    return features(*doc) + _rule_features(doc)


class _Flags:
    """Rule topics as 0/1 features, a block of its own."""

    def fit_transform(self, docs):
        from sklearn.feature_extraction import DictVectorizer

        self.vec = DictVectorizer()
        return self.vec.fit_transform([dict.fromkeys(_rule_features(d), 1.0) for d in docs])

    def transform(self, docs):
        return self.vec.transform([dict.fromkeys(_rule_features(d), 1.0) for d in docs])


# An address stands for the party behind it: e-mails and web addresses become one generic token each
_TOKEN = re.compile(r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
                    r"|(?P<url>(?:https?://|www\.)[^\s)\]>\"']+|[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|co|ai|app|eu|uk|de|fr)\b(?:/[^\s)\]>\"']*)?)"
                    r"|(?P<word>[^\W_]+(?:['’][^\W_]+)?)", re.UNICODE)
_DIGITS = re.compile(r"\d+")
_DETERMINERS = frozenset({"the", "a", "an", "our", "its", "their", "your", "this", "these", "those", "that", "such"})


def name_features(text: str, common_words: frozenset[str]) -> list[str]:
    """Generic tokens for the parties a text names, and the pairs they stand in: "Prismic hosts texts" and
    "we work with the Awin network" teach what a named company does with data across names never seen.

    A name is a capitalised word whose lower-cased form is not among the language's common words (so
    "Personal Data" is not one), with the capitalised words right after it ("Google Analytics");
    an e-mail or web address is `__email__` / `__url__`.

    >>> name_features("We work with the Awin network; see awin.com.", frozenset("we work with the network see".split()))
    ['__name__', '__url__', 'with __name__', '__name__ network', 'see __url__']
    """
    generic: list[str] = []  # the text's tokens, lower-cased, a name or an address as its generic token
    previous_name_end = -2
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind != "word":
            generic.append(f"__{kind}__")
            continue
        word = match.group()
        capitalised = word[0].isupper() and not word.isupper()
        if capitalised and generic and generic[-1] == "__name__" and text[previous_name_end:match.start()] == " ":
            previous_name_end = match.end()  # "Google Analytics": one name
            continue
        base = re.sub(r"['’]s$", "", word.lower())
        if capitalised and base not in common_words:
            generic.append("__name__")
            previous_name_end = match.end()
        else:
            generic.append(_DIGITS.sub("0", word.lower()))
    tokens = [g for g in generic if g.startswith("__")]
    generic = [g for g in generic if g not in _DETERMINERS]  # "with the Awin network": "with __name__"
    pairs = [f"{a} {b}" for a, b in zip(generic, generic[1:], strict=False) if a.startswith("__") or b.startswith("__")]
    return tokens + pairs


def common_words_of(texts: list[tuple[str, str]], min_sources: int = 2) -> list[str]:
    """The common words of a language, from (source, text) pairs: words written in lower case by at least
    `min_sources` sources (addresses left out), so a company name is not one and "personal" is."""
    seen: dict[str, set[str]] = {}
    for source, text in texts:
        for match in _TOKEN.finditer(text):
            if match.lastgroup == "word" and match.group().islower():
                seen.setdefault(match.group(), set()).add(source)
    return sorted(w for w, sources in seen.items() if len(sources) >= min_sources)


_SERVICE_OF: dict[str, str] = {}  # a paragraph's text → its policy (filled by main): common words per policy


class _Names:
    """Words, pairs and heading words, plus the generic tokens of the parties named (`name_features`); the
    common words are those of the fit rows' policies only, so a held-out policy's names stay unseen."""

    def __init__(self, min_sources: int = 2):
        self.min_sources = min_sources

    def fit_transform(self, docs):
        common = frozenset(common_words_of([(_SERVICE_OF.get(d[0], d[0]), d[0]) for d in docs], self.min_sources))
        self.vec = word_block(lambda doc: features(*doc) + name_features(doc[0], common))
        return self.vec.fit_transform(docs)

    def transform(self, docs):
        return self.vec.transform(docs)


@dataclass
class Variant:
    """A way of building the model: feature blocks (with weights), NB scaling, clause aggregation."""

    name: str
    blocks: list[tuple[Callable, float]]  # (factory of a vectorizer, weight of its block)
    nb: bool = False  # scale features by their log-count ratio per topic (NB-LR, Wang & Manning 2012)
    clause_mix: float | None = None  # p = mix·p(paragraph) + (1−mix)·max p(clause)
    c_grid: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    clause_negatives: bool = False  # also train on the clauses of paragraphs without the topic, as negatives
    members: list[Variant] = field(default_factory=list)  # an ensemble: mean of the members' probabilities
    # self-training: refit with the fit policies' unlabelled paragraphs the first fit is sure of
    # (p ≥ high: the topic, p ≤ low: not), (low, high)
    pseudo: tuple[float, float] | None = None


VARIANTS = {v.name: v for v in [
    Variant("shipped", [(word_block, 1.0)]),
    Variant("wider-C", [(word_block, 1.0)], c_grid=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("trigrams", [(lambda: word_block(_words_trigrams), 1.0)], c_grid=(4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("skipgrams", [(lambda: word_block(_words_skip), 1.0)], c_grid=(4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("heading-block", [(lambda: word_block(_text_only), 1.0), (lambda: word_block(_heading_only), 0.5)],
            c_grid=(4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("heading-block-1", [(lambda: word_block(_text_only), 1.0), (lambda: word_block(_heading_only), 1.0)],
            c_grid=(4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("heading-pairs", [(lambda: word_block(_words_heading_pairs), 1.0)], c_grid=(4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("chars", [(char_block, 1.0)], c_grid=(4.0, 8.0, 16.0, 32.0, 64.0)),
    Variant("words+chars", [(word_block, 1.0), (char_block, 1.0)], c_grid=(2.0, 4.0, 8.0, 16.0, 32.0)),
    Variant("nb", [(word_block, 1.0)], nb=True, c_grid=(1.0, 2.0, 4.0, 8.0, 16.0, 32.0)),
    Variant("nb-trigrams", [(lambda: word_block(_words_trigrams), 1.0)], nb=True,
            c_grid=(1.0, 2.0, 4.0, 8.0, 16.0, 32.0)),
    Variant("clause-max", [(word_block, 1.0)], clause_mix=0.5, c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("clause-max-0.3", [(word_block, 1.0)], clause_mix=0.3, c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("clause-max-0.7", [(word_block, 1.0)], clause_mix=0.7, c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("clause-neg", [(word_block, 1.0)], clause_mix=0.5, clause_negatives=True,
            c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("clause-neg-0.3", [(word_block, 1.0)], clause_mix=0.3, clause_negatives=True,
            c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("rule-words", [(lambda: word_block(_words_and_rules), 1.0)], c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("rule-flags", [(word_block, 1.0), (_Flags, 1.0)], c_grid=(4.0, 8.0, 16.0, 32.0)),
    Variant("names", [(_Names, 1.0)]),
    Variant("pseudo", [(word_block, 1.0)], pseudo=(0.05, 0.8)),
    Variant("pseudo-0.9", [(word_block, 1.0)], pseudo=(0.03, 0.9)),
    Variant("names-pseudo", [(_Names, 1.0)], pseudo=(0.05, 0.8)),
    Variant("names-3", [(lambda: _Names(3), 1.0)]),
    Variant("rule-flags-0.5", [(word_block, 1.0), (_Flags, 0.5)], c_grid=(4.0, 8.0, 16.0, 32.0)),
]}
VARIANTS["ens-words-chars"] = Variant("ens-words-chars", [], members=[VARIANTS["wider-C"], VARIANTS["chars"]])
VARIANTS["ens-words-nb"] = Variant("ens-words-nb", [], members=[VARIANTS["wider-C"], VARIANTS["nb"]])


# ------------------------------------------------------------------------------------------------


def _stack(blocks, docs, fitted=None):
    from scipy.sparse import hstack

    mats, vecs = [], []
    for i, (factory, weight) in enumerate(blocks):
        vec = factory() if fitted is None else fitted[i]
        x = vec.fit_transform(docs) if fitted is None else vec.transform(docs)
        mats.append(x * weight)
        vecs.append(vec)
    return hstack(mats).tocsr(), vecs


def log_count_ratio(x, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """r = log((α + Σ x⁺ / ‖·‖₁) / (α + Σ x⁻ / ‖·‖₁)): how much more a feature weighs in the positives."""
    p = alpha + np.asarray(x[y].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[~y].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


# A sentence ends at . ! or ? (closing quotes or brackets included) before a capital, digit or opening mark
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"“(\[]?[A-Z0-9])")
_ITEM = re.compile(r"(?:[-*•·]|\d{1,2}[.)]|\([a-zA-Z0-9]{1,4}\))\s+")


def clauses(text: str) -> list[str]:
    """The sentences and list items of a paragraph, an item read with its lead-in (the sentence ending in
    a colon before the list). A quick stdlib splitter: the model needs roughly the right pieces, fast.

    >>> clauses("We share data with:\\n- our hosts\\n- advertisers. We keep logs.")
    ['We share data with:', 'We share data with: our hosts', 'We share data with: advertisers.', 'We keep logs.']
    """
    found: list[str] = []
    lead_in = None
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        item = _ITEM.match(line) if lead_in else None
        sentences = [s for s in _SENTENCE_END.split(line[item.end():] if item else line) if s.strip()]
        if item and sentences:
            sentences[0] = f"{lead_in} {sentences[0]}"
        else:
            lead_in = sentences[-1] if sentences and sentences[-1].endswith(":") else None
        found += sentences
    return found or [text]


def _clauses(text: str) -> list[str]:
    return clauses(text)


# shared/ sits beside the checkout (or beside the folder of worktrees)
CORPUS = next((d / "shared" / "corpus" / "policies" for d in train_model.ROOT.parents
               if (d / "shared" / "corpus" / "policies").is_dir()), Path("../shared/corpus/policies"))


@lru_cache(maxsize=1)
def unlabelled() -> tuple[dict, ...]:
    """The paragraphs of the train and dev policies nobody labelled, none also a test policy's paragraph
    (for self-training: the test policies never enter training data)."""
    import json

    from training.segments import segments_of

    splits = json.loads((train_model.ROOT / "data" / "splits.json").read_text(encoding="utf-8"))["services"]
    same = lambda text: " ".join(text.lower().split())  # noqa: E731
    known = {same(r["text"]) for r in train_model.rows("train", "dev", "test")}
    cut = {service: segments_of(service, (CORPUS / f"{service}.md").read_text(encoding="utf-8"))
           for service in sorted(splits) if (CORPUS / f"{service}.md").exists()}
    test_texts = {same(s.text) for service, found in cut.items() if splits[service] == "test" for s in found}
    return tuple({"service": s.service, "heading": s.heading, "text": s.text}
                 for service, found in cut.items() if splits[service] in ("train", "dev")
                 for s in found if same(s.text) not in known and same(s.text) not in test_texts)


def out_of_fold(variant: Variant, data: list[dict], folds) -> dict:
    """{(C, balanced): {topic: out-of-fold probabilities}} of one variant."""
    from scipy.sparse import diags
    from sklearn.linear_model import LogisticRegression

    if variant.members:
        parts = [out_of_fold(m, data, folds) for m in variant.members]
        best = [{t: _best_setting(p, data, t) for t in TOPICS} for p in parts]
        return {(0.0, False): {t: np.mean([p[b[t]][t] for p, b in zip(parts, best, strict=True)], axis=0)
                               for t in TOPICS}}
    docs = [(r["text"], r["heading"]) for r in data]
    n = len(data)
    grid = [(c, b) for c in variant.c_grid for b in (False, True)]
    found = {key: {t: np.zeros(n) for t in TOPICS} for key in grid}
    for fit_rows, held in folds:
        x_fit, vecs = _stack(variant.blocks, [docs[i] for i in fit_rows])
        x_held, _ = _stack(variant.blocks, [docs[i] for i in held], vecs)
        if variant.clause_negatives:
            extra_owner, extra_docs = [], []
            for i in fit_rows:
                pieces = _clauses(docs[i][0])
                if len(pieces) > 1:
                    extra_owner += [i] * len(pieces)
                    extra_docs += [(c, docs[i][1]) for c in pieces]
            x_extra, _ = _stack(variant.blocks, extra_docs, vecs)
        if variant.clause_mix is not None:
            owners, clause_docs = [], []
            for j, i in enumerate(held):
                for c in _clauses(docs[i][0]):
                    owners.append(j)
                    clause_docs.append((c, docs[i][1]))
            x_clauses, _ = _stack(variant.blocks, clause_docs, vecs)
            owners = np.array(owners)
        if variant.pseudo is not None:
            fit_services = {data[i]["service"] for i in fit_rows}
            x_unlabelled, _ = _stack(variant.blocks, [(u["text"], u["heading"]) for u in unlabelled()
                                                      if u["service"] in fit_services], vecs)
        for topic in TOPICS:
            y = np.array([topic in data[i]["label"] for i in fit_rows])
            scale = diags(log_count_ratio(x_fit, y)) if variant.nb else None
            xf = x_fit @ scale if variant.nb else x_fit
            if variant.clause_negatives:
                from scipy.sparse import vstack

                negative = np.array([topic not in data[i]["label"] for i in extra_owner])
                xf = vstack([xf, (x_extra @ scale if variant.nb else x_extra)[negative]]).tocsr()
                y = np.concatenate([y, np.zeros(int(negative.sum()), dtype=bool)])
            xh = x_held @ scale if variant.nb else x_held
            for c, balanced in grid:
                model = LogisticRegression(C=c, solver="liblinear", dual=DUAL, random_state=train_model.SEED,
                                           class_weight="balanced" if balanced else None).fit(xf, y)
                if variant.pseudo is not None:
                    from scipy.sparse import vstack

                    pu = model.predict_proba(x_unlabelled)[:, 1]
                    sure = (pu >= variant.pseudo[1]) | (pu <= variant.pseudo[0])
                    model = LogisticRegression(C=c, solver="liblinear", dual=DUAL, random_state=train_model.SEED,
                                               class_weight="balanced" if balanced else None).fit(
                        vstack([xf, x_unlabelled[sure]]).tocsr(), np.concatenate([y, pu[sure] >= variant.pseudo[1]]))
                p = model.predict_proba(xh)[:, 1]
                if variant.clause_mix is not None:
                    xc = x_clauses @ scale if variant.nb else x_clauses
                    pc = model.predict_proba(xc)[:, 1]
                    top = np.zeros(len(held))
                    np.maximum.at(top, owners, pc)
                    p = variant.clause_mix * p + (1 - variant.clause_mix) * top
                found[(c, balanced)][topic][held] = p
    return found


def _best_setting(oof: dict, data: list[dict], topic: str):
    chosen = tune(data, oof, topics=(topic,))
    return chosen[topic]["C"], chosen[topic]["balanced"]


def _best_threshold(scores: np.ndarray, gold: np.ndarray) -> tuple[float, tuple[float, float, float]]:
    """`train_model.best_threshold`, vectorised: same candidates, same order of preference."""
    best = None
    positives = gold.sum()
    for step in range(train_model.MIN_THRESHOLD, 96):
        t = step / 100
        found = scores >= t
        tp = int((found & gold).sum())
        fp = int(found.sum()) - tp
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / positives if positives else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        key = (p >= train_model.MIN_PRECISION, f, -abs(t - 0.5), t, (p, r, f))
        if best is None or key > best:
            best = key
    return best[3], best[4]


def tune(data: list[dict], oof: dict, topics: tuple[str, ...] = TOPICS) -> dict:
    """`train_model.tune` with the vectorised threshold search."""
    chosen: dict[str, dict] = {}
    for topic in topics:
        gold = np.array([topic in r["label"] for r in data])
        for (c, balanced), table in oof.items():
            t, (p, r, f) = _best_threshold(np.asarray(table[topic]), gold)
            key = (p >= train_model.MIN_PRECISION, round(f, 6), -c)
            if topic not in chosen or key > chosen[topic]["key"]:
                chosen[topic] = {"key": key, "C": c, "balanced": balanced, "threshold": t, "figures": (p, r, f)}
    return chosen


def evaluate_variant(variant: Variant, data: list[dict], folds, rules) -> dict:
    oof = out_of_fold(variant, data, folds)
    chosen = tune(data, oof)
    combination, gates, report = train_model.combine(data, oof, chosen, rules=rules)
    return {t: {"model": report[t]["model"], "way": combination[t], "combined": report[t][combination[t]],
                "C": chosen[t]["C"], "balanced": chosen[t]["balanced"], "threshold": chosen[t]["threshold"]}
            for t in TOPICS}


def _cell(f: dict) -> str:
    return f"{f['precision']:.2f}/{f['recall']:.2f}/{f['f1']:.3f}"


def main(argv: list[str]) -> None:
    from sklearn.model_selection import GroupKFold

    from monitor.meaning.topics import rule_hits

    if "--list" in argv:
        print("\n".join(VARIANTS))
        return
    names = argv or list(VARIANTS)
    data = train_model.rows("train", "dev")
    _SERVICE_OF.update((r["text"], r["service"]) for r in data)
    # --shuffle N: another grouping of the policies into folds, to see how much a difference is the folds' luck
    shuffle = int(argv[argv.index("--shuffle") + 1]) if "--shuffle" in argv else None
    if shuffle is not None:
        names = [n for n in argv if n not in ("--shuffle", str(shuffle))] or list(VARIANTS)
    splitter = (GroupKFold(n_splits=train_model.FOLDS) if shuffle is None
                else GroupKFold(n_splits=train_model.FOLDS, shuffle=True, random_state=shuffle))
    folds = list(splitter.split(data, groups=[r["service"] for r in data]))
    rules = [set(rule_hits(r["text"], r["heading"])) for r in data]
    print(f"out of fold on {len(data)} train+dev paragraphs of {len({r['service'] for r in data})} policies; "
          "cells: precision/recall/F1, model alone | chosen combination (way)")
    print(f"{'variant':<16} " + "  ".join(f"{t:<38}" for t in TOPICS), flush=True)
    for name in names:
        started = time.perf_counter()
        result = evaluate_variant(VARIANTS[name], data, folds, rules)
        cells = [f"{_cell(result[t]['model'])} | {_cell(result[t]['combined'])} {result[t]['way'][:6]:<6}"
                 for t in TOPICS]
        print(f"{name:<16} " + "  ".join(f"{c:<38}" for c in cells) + f"  ({time.perf_counter() - started:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
