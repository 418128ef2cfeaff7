"""The alert decision on seed policies, through the real normalize → sections → diff → significance stages.

Prints three numbers:
- false alerts: versions that differ only in form (British spelling, hyphenation, quotes, articles,
  random typos: 5 kinds × 5 seeds, typos 25 times per seed) yet alert a watched topic;
- edits judged right: realistic substantive and non-substantive edits (written for this benchmark,
  not taken from the tests) whose alert topics match what a reader expects;
- rating speed: changes rated per second over whole-policy rewrites.

Usage: .venv/bin/python benchmarks/bench_significance.py
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from monitor.capture.normalize import normalize  # noqa: E402
from monitor.compare.diff import diff_sections  # noqa: E402
from monitor.meaning.significance import rate_changes  # noqa: E402
from monitor.text.sections import parse_sections  # noqa: E402
from tests.pages import edit, render_policy, seed_numbers, seed_text  # noqa: E402

WATCHED = ["sharing", "retention", "minors"]


def british(text: str) -> str:
    text = re.sub(r"(?<=[a-z]{3})iz(e|es|ed|ing|ation|ations)\b", r"is\1", text)
    text = re.sub(r"\b(behavi|col|fav|hon|lab|neighb)or", r"\1our", text)
    return text.replace("center", "centre").replace("license", "licence").replace("analyz", "analys")


def typos(text: str, seed: int) -> str:
    rnd = random.Random(seed)
    tokens = text.split(" ")
    for _ in range(4):
        i = rnd.randrange(len(tokens))
        word = tokens[i]
        if len(word) > 5 and word.isalpha():
            j = rnd.randrange(1, len(word) - 2)
            tokens[i] = rnd.choice([word[:j] + word[j + 1:], word[:j] + word[j] + word[j:],
                                    word[:j] + word[j + 1] + word[j] + word[j + 2:]])
    return " ".join(tokens)


FORM_ONLY = {
    "british spelling": british,
    "hyphenation": lambda t: t.replace("email", "e-mail").replace("third party", "third-party"),
    "curly quotes": lambda t: re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", t).replace("'", "\u2019"),
    "articles dropped": lambda t: t.replace(" the ", " ", 3),
}

# (seed, old, new, expected alert topics)
EDITS = [
    (0, "business partners (including advertisers, data tracking companies and",
     "business partners (including advertisers, data tracking companies, data brokers and", {"sharing"}),
    (0, "the information retention period is only limited to the time required to achieve the purpose described "
        "in this privacy policy", "the information retention period is 10 years", {"retention"}),
    (0, "Wezonet will not collect information from children under the age of thirteen.",
     "Wezonet will not knowingly collect information from children under the age of sixteen.", {"minors"}),
    (0, "We will use reasonable technical and organizational security measures",
     "We will use strong technical and organizational security measures", set()),
    (1, "minors under the age of eighteen", "minors under the age of fourteen", {"minors"}),
    (1, "such as advertisers and their agents", "such as advertisers, data brokers and their agents", {"sharing"}),
    (1, "We will store your information in a secure way", "We will store your information for up to 3 years in a "
                                                          "secure way", {"retention"}),
    (1, "we will contact you within 24 hours", "we will contact you within 48 hours", set()),
    (2, "We may disclose your personal information in accordance with relevant legal obligations",
     "We may disclose your personal information to advertisers and in accordance with relevant legal obligations",
     {"sharing"}),
    (2, "We explicitly prohibit minors under the age of 18", "We explicitly prohibit minors under the age of 16",
     {"minors"}),
    (2, "we will completely delete the relevant information or anonymize it", "we may keep the relevant information",
     {"retention"}),
    (2, "firewalls, intrusion detection systems", "firewalls, intrusion prevention systems", set()),
    (2, "Wemet", "Nimbus", set()),
    (3, "If you are a minor under 14 years old", "If you are a minor under 16 years old", {"minors"}),
    (3, "After exceeding the storage period, we will delete your user information or perform anonymization "
        "processing in accordance with legal provisions.", "After exceeding the storage period, we may retain your "
                                                             "user information for analytics.", {"retention"}),
    (3, "we will reply within fifteen working days", "we will reply within thirty working days", set()),
    (4, "to resolve disputes between or with we users; or",
     "to resolve disputes between or with we users;\n- to improve our advertising products; or", {"retention"}),
    (4, "we do not knowingly collect any personal information from Children",
     "we may collect personal information from Children and share it with our partners", {"minors", "sharing"}),
    (4, "- to measure the effectiveness of advertisements that we place on the Internet or in other media;",
     "- to measure the effectiveness of advertisements that we place on the Internet or in other media;\n"
     "- to sell aggregated insights to data brokers;", {"sharing"}),
    (4, "we will provide notice to you on our Service", "we may provide notice to you on our Service", set()),
]


def alert_topics(old_text: str, new_text: str) -> set[str]:
    old = parse_sections(normalize(render_policy(old_text)))
    new = parse_sections(normalize(render_policy(new_text, noise=2)))
    return {t for r in rate_changes(diff_sections(old, new)) for t in r.alert_topics(WATCHED)}


def main() -> None:
    false_alerts, versions = [], 0
    for n in seed_numbers():
        text = seed_text(n)
        variants = [(name, f(text)) for name, f in FORM_ONLY.items()]
        variants += [(f"typos #{k}", typos(text, k)) for k in range(25)]
        for name, changed in variants:
            if changed == text:
                continue
            versions += 1
            if topics := alert_topics(text, changed):
                false_alerts.append((n, name, sorted(topics)))
    print(f"false alerts on form-only versions: {len(false_alerts)} of {versions}")
    for n, name, topics in false_alerts:
        print(f"  seed {n} {name}: {topics}")

    right = 0
    for seed, old, new, expected in EDITS:
        text = seed_text(seed)
        got = alert_topics(text, edit(text, old, new, count=-1 if old == "Wemet" else 1))
        right += got == expected
        if got != expected:
            print(f"  seed {seed} {old[:40]!r}: expected {sorted(expected)}, got {sorted(got)}")
    print(f"edits judged right: {right} of {len(EDITS)}")

    pairs = []
    for n in seed_numbers():
        text = seed_text(n)
        rewrite = re.sub(r"\bwill\b", "may", text).replace("information", "data").replace("We ", "The Company ")
        pairs.append(diff_sections(parse_sections(normalize(render_policy(text))),
                                   parse_sections(normalize(render_policy(rewrite)))))
    start = time.process_time()
    rated = sum(len(rate_changes(changes)) for changes in pairs)
    elapsed = time.process_time() - start
    print(f"rating speed: {rated / elapsed:.0f} changes/s CPU over whole-policy rewrites ({rated} changes)")


if __name__ == "__main__":
    main()
