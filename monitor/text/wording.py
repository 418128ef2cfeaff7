"""Clause wording for significance: canonical words, the form-only test, and pairing edited clauses."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from monitor.text.sections import Clause

NEGATIONS = frozenset({"not", "no", "never", "none", "nor", "neither", "nothing", "without", "nobody",
                        "unless", "except", "cannot"})
MODALS = frozenset({"may", "might", "can", "could", "will", "would", "shall", "should", "must"})
_QUANTIFIERS = frozenset({"all", "any", "some", "only", "every", "each", "always", "solely", "exclusively",
                          "more", "less", "fewer", "most", "longer", "shorter"})
_UNITS = frozenset({"hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years",
                    "minute", "minutes", "old", "age", "aged"})
NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                      "ninety": 90, "hundred": 100, "thousand": 1000, "twice": 2, "half": 0})
# Terms whose replacement is never a typo, even one letter apart (sell/tell, share/shore).
_KEY_TERMS = re.compile(
    r"^(?:sell|sold|sale|share|disclos|rent|lease|trade|transfer|provid|retain|retention|keep|kept|store|"
    r"storage|hold|held|send|sent|delet|eras|destroy|collect|anonymi|pseudonymi|aggregat|deidentif|consent|notify|notifie|"
    r"inform(?:s|ed|ing)?$|opt(?:s|ed)?$|optout|optin|"
    r"partner|affiliat|advertis|broker|third|vendor|provider|compan|agenc|authorit|government|insur|"
    r"employ|child|minor|parent|guardian|teen|adult|indefinit|permanent|forever|until|law|legal)")
# Verbs of what is done with data: moving one inside a clause changes who does what to what.
_ACTION_VERBS = re.compile(r"^(?:sell|sold|shar|disclos|rent|leas|trad|transfer|provid|retain|keep|kept|stor|"
                           r"delet|eras|destroy|collect|use|used|using|track|notif|inform|anonymi)")
# ...but "storage", "providers", "disclosure", "retention" are the nouns of those verbs: list items, not actions
_ACTION_NOUN = re.compile(r"(?:age|ers?|ors?|ions?|ments?|ures?|ances?|ences?|ity|ies|ables?)$")


def _is_action_noun(word: str) -> bool:
    return bool(_ACTION_NOUN.search(word)) and not word.startswith("transfer")  # "transfers" is a verb too
_GRAMMAR_SWAPS = [frozenset(p) for p in (("is", "are"), ("was", "were"), ("has", "have"), ("does", "do"),
                                         ("this", "these"), ("that", "those"), ("that", "which"),
                                         ("who", "that"), ("its", "their"), ("a", "an"), ("a", "the"),
                                         ("an", "the"), ("whom", "who"),
                                         # modal verbs of the same strength
                                         ("may", "might"), ("may", "can"), ("can", "could"), ("might", "could"),
                                         ("will", "shall"), ("must", "shall"))]
# Words whose addition or removal changes tone, not what is promised.
_OPTIONAL_WORDS = frozenset({"a", "an", "the", "also", "please", "further", "additionally", "furthermore",
                             "moreover", "however", "currently"})
_CONJUNCTIONS = frozenset({"and", "or"})
_REFERENCE_WORDS = frozenset({"section", "sections", "paragraph", "clause", "article", "chapter", "appendix",
                              "schedule", "annex", "part", "item", "point"})
_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())
_DATE_STAMP = re.compile(r"\b(?:last (?:updated|modified|revised|changed)|updated|effective|revised|"
                         r"version|as of|dated?)\b", re.I)

_SPELLING = {"licence": "license", "licences": "licenses", "licenced": "licensed", "defence": "defense",
             "offence": "offense", "programme": "program", "programmes": "programs", "catalogue": "catalog",
             "dialogue": "dialog", "judgement": "judgment", "enrol": "enroll", "enrolment": "enrollment",
             "fulfil": "fulfill", "fulfilment": "fulfillment", "whilst": "while", "amongst": "among",
             "cheque": "check", "grey": "gray", "ageing": "aging", "acknowledgement": "acknowledgment",
             "paediatric": "pediatric", "practise": "practice", "practised": "practiced"}
# Policy synonyms that editors swap without changing meaning ("personal information" → "personal data").
_SYNONYMS = {"information": "data", "info": "data", "utilize": "use", "utilizes": "uses", "utilized": "used",
             "utilizing": "using", "individuals": "persons", "people": "persons"}
_NOT_OUR = frozenset({"detour", "devour", "contour", "paramour", "velour", "troubadour"})
_SPELLING_RULES = [
    (re.compile(r"(?<=[a-z]{3})is(e|es|ed|ing|ation|ations|er|ers|able)$"), r"iz\1"),  # organise
    (re.compile(r"(?<=[a-z]{2})ys(e|es|ed|ing)$"), r"yz\1"),                              # analyse
    (re.compile(r"(?<=[a-z]{3})our(s|ed|ing|ite|ites|able|ably|er|ers|ful)?$"), r"or\1"),  # colour
    (re.compile(r"^(cent|met|lit|theat|fib|calib|spect|somb|lust|meag)re(s|d)?$"), r"\1er\2"),  # centre
    (re.compile(r"(?<=[^aeiou]e)ll(ed|ing|er|ers)$"), r"l\1"),                            # cancelled
]

_TOKEN_RE = re.compile(r"\d+(?:[.:]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*")  # letters of any script
ENUMERATOR = re.compile(r"^\s*(?:[-*•·–]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\(?[ivx]{1,5}[.)])\s+", re.I)


_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]]+", re.I)
_ADDRESS = re.compile(r"\b(?:https?://)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b(?:/[^\s<>()\[\]]*)?", re.I)  # or a bare domain
# an address, a CDN's obfuscation of one, or normalize's placeholder for it ([email])
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b|\[email(?:&#160;|\s)protected\]|\[email\]")


_SPELLED_AND_DIGITS = re.compile(r"\b([a-z]+(?:-[a-z]+)?) \((\d+)\)")


def _drop_repeated_digits(m: re.Match[str]) -> str:
    return m.group(1) if number_value(m.group(1)) == float(m.group(2)) else m.group(0)


_APOSTROPHE_LOST = re.compile(r"\b(do|does|did|is|are|was|were|has|have|had|could|should|would)nt\b")


@lru_cache(maxsize=8192)  # the rules fold the same clause texts again and again (5 times each on a big page)
def fold(text: str) -> str:
    """Lowercase, plain quotes and dashes, contractions expanded, hyphens inside words dropped."""
    t = text.lower()
    t = _URL.sub(" url ", t)                          # link targets and addresses are not what a policy says
    t = _EMAIL.sub(" emailaddress ", t)
    t = re.sub(r"&(?:#\d+|[a-z]+);", " ", t.replace("&amp;", " and ")).replace("&", " and ")
    t = re.sub(r"[\u2018\u2019\u02bc`´]", "'", t)
    t = re.sub(r"[\u201c\u201d\u00ab\u00bb\"]", " ", t)
    t = re.sub(r"[\u2010-\u2015\u2212]", "-", t).replace("\u00ad", "").replace("\u00a0", " ")
    t = re.sub(r"\bwon't\b", "will not", t)
    t = re.sub(r"\bcan'?t\b|\bcannot\b", "can not", t)
    t = re.sub(r"n't\b", " not", t)
    t = _APOSTROPHE_LOST.sub(r"\1 not", t)              # "dont": a capture that lost its apostrophes
    t = _SPELLED_AND_DIGITS.sub(_drop_repeated_digits, t)   # "two (2) years" → "two years"
    t = re.sub(r"\be\.\s?g\.,?", " for example ", t)
    t = re.sub(r"\bi\.\s?e\.,?", " that is ", t)
    t = re.sub(r"(?<=[a-z])-(?=[a-z])", "", t)        # e-mail → email, third-party → thirdparty
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)      # 1,000 → 1000


@lru_cache(maxsize=65536)
def canon_word(word: str) -> str:
    if word in _SPELLING:
        return _SPELLING[word]
    if word in _NOT_OUR or word.startswith(("your", "four", "hour", "pour", "tour", "flour", "sour")):
        return word
    for pattern, repl in _SPELLING_RULES:
        word = pattern.sub(repl, word)
    return word


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Canonical word tokens of a text: what form-only comparison looks at (cached: texts recur)."""
    return tuple(canon_word(w) for w in _TOKEN_RE.findall(fold(ENUMERATOR.sub("", text))))


def number_value(token: str) -> float | None:
    """The value of a number token: digits or words ("twenty-four", "a" → 1); None if not a number."""
    token = token.strip().replace("-", " ")
    if token in ("a", "an"):
        return 1
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token)
    parts = token.split()
    if parts and all(p in NUMBER_WORDS for p in parts):
        return float(sum(NUMBER_WORDS[p] for p in parts))
    return None


def stem(word: str) -> str:
    word = word.removesuffix("'s")
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("e", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def is_number(word: str) -> bool:
    return word[0].isdigit() or word in NUMBER_WORDS


def protected(word: str) -> bool:
    """Words whose change is substance however small: numbers, negations, modals, quantifiers, units."""
    return (is_number(word) or word in NEGATIONS or word in MODALS or word in _QUANTIFIERS
            or word in _UNITS)


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance where swapping two neighbouring letters counts as one edit (a typo)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _form_only_swap(a: str, b: str) -> bool:
    """Is replacing word `a` by word `b` a spelling, typo or grammar fix?"""
    if a == b or frozenset((a, b)) in _GRAMMAR_SWAPS or _SYNONYMS.get(a, a) == _SYNONYMS.get(b, b):
        return True
    if protected(a) or protected(b):
        return False
    if stem(a) == stem(b):
        return True                                    # sell/sells, retain/retains
    short, long_ = sorted((a, b), key=len)
    key_a, key_b = _KEY_TERMS.match(a), _KEY_TERMS.match(b)
    if (key_a and key_b and key_a.group(0) != key_b.group(0)) or ((key_a or key_b) and len(short) < 5):
        return False                                   # sell/sold, sell/tell: other words, not typos
    if long_.endswith(short) and long_[: -len(short)] in {"un", "in", "im", "il", "ir", "non", "dis", "mis"}:
        return False                                   # authorized → unauthorized
    if long_.startswith(short) and long_[len(short):] in {"less"}:
        return False
    # a typo: one or two letters off ("provie" → "provide", "retian" → "retain"); English words only,
    # since one character of a Chinese token or a German compound can be a whole word
    return (a + b).isascii() and len(short) >= 4 and _edit_distance(a, b) <= (1 if len(short) < 7 else 2)


# A sentence split or joined: "…partners and require them…" ↔ "…partners. We require them…"
_JOINERS = frozenset({"and", "which", "so", "while", "whereby"})
_SUBJECTS = frozenset({"we", "they", "it", "this", "these", "you", "he", "she", "such"})


def _split_or_join(old: Sequence[str], new: Sequence[str], before: Sequence[str], i1: int) -> bool:
    """A joining word traded for a subject pronoun, with no negation earlier in the clause whose reach
    a split could change ("we do not share X and sell Y" ≠ "…X. We sell Y")."""
    if set(before[:i1]) & NEGATIONS or len(old) > 2 or len(new) > 2:
        return False

    def trade(gone: set[str], came: set[str]) -> bool:  # "and" → "we" (a split), never "they" → "we"
        return bool(gone) and gone <= _JOINERS and bool(came & _SUBJECTS) and came <= _JOINERS | _SUBJECTS

    return trade(set(old), set(new)) or trade(set(new), set(old))


# The words of a link's wording ("click here" → "visit this page", "tap here", "see this link"): only where
# to read more, never what the policy says
_POINTER_WORDS = frozenset("click tap here visit this page link see".split())


def _edit_is_form_only(tag: str, old: Sequence[str], new: Sequence[str], before: Sequence[str],
                       i1: int) -> bool:
    if "".join(old) == "".join(new):
        return True                                    # "third party" ↔ "thirdparty"
    if tag == "replace" and set(old) | set(new) <= _POINTER_WORDS:
        return True                                    # "click here" → "visit this page"
    if _split_or_join(old, new, before, i1):
        return True
    if tag == "delete" or tag == "insert":
        # a lone "and"/"or" put in or taken out is grammar or list punctuation ("Buyers or in connection
        # with" → "Buyers in connection with", "and/or" → "or"): with every other word kept, it
        # cannot join or part two things the clause did not already name
        return set(old or new) <= _OPTIONAL_WORDS or (len(old or new) == 1 and (old or new)[0] in _CONJUNCTIONS)
    if len(old) == len(new) and all(_form_only_swap(a, b) for a, b in zip(old, new, strict=True)):
        return True
    if len(old) == len(new) == 1 and is_number(old[0]) and is_number(new[0]):
        if number_value(old[0]) == number_value(new[0]):
            return True                                # "13" → "thirteen"
        return i1 > 0 and before[i1 - 1] in _REFERENCE_WORDS   # "see Section 4" → "see Section 5"
    return False


Rename = tuple[tuple[str, ...], tuple[str, ...]]


def _apply_renames(tokens: tuple[str, ...], renames: Iterable[Rename]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for old, new in renames:
            if tokens[i:i + len(old)] == old:
                out.extend(new)
                i += len(old)
                break
        else:
            out.append(tokens[i])
            i += 1
    return tuple(out)


def substitutions(before: str, after: str) -> list[Rename]:
    """Short word swaps between two versions of a clause that could be a terminology change.

    ("Wemet" → "WeMeet Inc", "personal information" → "personal data"); never numbers, negations,
    modals, quantifiers or sharing/retention terms, whose change is substance however consistent.
    """
    old, new = words(before), words(after)
    found = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        a, b = old[i1:i2], new[j1:j2]
        if tag == "replace" and len(a) <= 3 and len(b) <= 3 and not any(
                protected(w) or _KEY_TERMS.match(w) for w in a + b):
            found.append((a, b))
    return found


def form_only(before: str, after: str, renames: Iterable[Rename] = ()) -> bool:
    """True when `before` → `after` changes only the form of a clause, not what it says.

    Form: British/American spelling, typos, hyphenation, quotes, case, whitespace, punctuation,
    articles and agreement (is/are), list order inside the clause, cross-reference and date-stamp
    numbers, and `renames` (word swaps made consistently across the policy, see `substitutions`).
    Never form: a number, a negation, a modal, a quantifier or a sharing/retention term.
    """
    old, new = words(before), words(after)
    renames = tuple(renames)
    if renames:
        old = _apply_renames(old, renames)
    if "".join(old) == "".join(new):
        return True
    # where the new text kept the old name in a web address ("Examplia … help.netflix.com"), renaming the old
    # text made a difference that is not there; anywhere else the old name coming back is news
    addresses = set(words(" ".join(_ADDRESS.findall(after)))) if renames else set()
    kept = {(b, a) for a, b in renames if set(a) <= addresses}
    old_count, new_count = Counter(old), Counter(new)
    differing = sum(((old_count - new_count) + (new_count - old_count)).values())
    if differing > 6 + 0.05 * (len(old) + len(new)):
        return False                                   # too many words differ for typos and grammar
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    edits = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if all((old[i1:i2], new[j1:j2]) in kept or _edit_is_form_only(tag, old[i1:i2], new[j1:j2], old, i1)
           for tag, i1, i2, j1, j2 in edits):
        return True
    changed = [w for tag, i1, i2, j1, j2 in edits for w in old[i1:i2] + new[j1:j2]]
    # Order matters next to a negation anywhere in the clause ("we do not share A; we share B") and
    # to a contrast inside the reordered stretch ("A but not B", "A rather than B"); "including but
    # not limited to" is an idiom that negates nothing.
    span = old[min(op[1] for op in edits):max(op[2] for op in edits)]
    negated = set(_without_idioms(old)) & NEGATIONS
    if old_count == new_count and not negated and not set(span) & {"but", "than", "only", "excluding", "except"}:
        # the same words in another order: a reordered list, unless what moved is a verb or a number
        return not any(protected(w) or (_ACTION_VERBS.match(w) and not _is_action_noun(w)) for w in changed)
    if _DATE_STAMP.search(before) and _DATE_STAMP.search(after):  # "Last updated: 3 May 2024" → "1 June 2025"
        return all(_is_date_word(w) for w in changed) and all(
            _within_a_date(old, i1, i2) and _within_a_date(new, j1, j2) for _tag, i1, i2, j1, j2 in edits)
    return False


def _within_a_date(tokens: Sequence[str], start: int, end: int) -> bool:
    """Are the changed tokens[start:end] part of a date: a month, a year or a d/m/y form among them or
    beside them, or a version number? A bare number is no date ("for 13 months from the date of collection"
    is a period)."""
    if start == end or tuple(tokens[start - 1:start]) in (("version",), ("revision",)):
        return True
    near = range(max(start - 2, 0), min(end + 2, len(tokens)))
    return any(_DATE_PART.fullmatch(tokens[i]) or _is_month(tokens, i) for i in near)


def _is_month(tokens: Sequence[str], i: int) -> bool:
    """A month name; "may" and "march" only beside a number ("1 May", "May 2024"), since they are also a
    modal and a verb ("Logs may remain 14 days")."""
    if tokens[i] not in _MONTHS:
        return False
    return tokens[i] not in ("may", "march") or any(
        tokens[j][:1].isdigit() for j in (i - 1, i + 1) if 0 <= j < len(tokens))


_DATE_PART = re.compile(r"(?:19|20)\d\d|\d{1,4}[./]\d{1,2}(?:[./]\d{1,4})?")


_IDIOMS = (("not", "limited", "to"), ("without", "limitation"), ("not", "limited"))


def _without_idioms(tokens: tuple[str, ...]) -> list[str]:
    kept, i = [], 0
    while i < len(tokens):
        idiom = next((m for m in _IDIOMS if tuple(tokens[i:i + len(m)]) == m), None)
        if idiom:
            i += len(idiom)
        else:
            kept.append(tokens[i])
            i += 1
    return kept


def _is_date_word(word: str) -> bool:
    if word in _MONTHS or word in {"st", "nd", "rd", "th"}:
        return True
    return bool(re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?|(?:19|20)\d\d|\d{1,4}[./:]\d{1,2}(?:[./:]\d{1,4})?", word))


# ---------------------------------------------------------------------------------------------
# Clauses: which say something, which removed clause became which added clause, which differ in substance.
# ---------------------------------------------------------------------------------------------

_NAVIGATION = re.compile(r"\b(?:learn|read|find out) more\b|\bclick here\b|\bback to top\b|\bsee (?:our|the) ")
# a link's own text, quoted in an instruction to click it: it stands where "here" would ("Please click
# "Embedding modules of other companies" to confirm" is "click here"), one label however many words it has.
# Only an instruction (the clause starts with the verb): "If you click "I agree", we share…" is a statement.
_QUOTED_LINK = re.compile(r"^\s*((?:please\s+)?(?:click|tap|press))(?: on)? [\"“‘'][^\"”’]{1,80}[\"”’]",
                          re.IGNORECASE)


def says_something(clause: Clause) -> bool:
    """False for clauses that are no statement: date lines, lone list markers, help-link questions, "learn
    more" links."""
    tokens = words(clause.text)
    if not tokens or clause.is_date or max(map(len, tokens)) < 2:
        return False                                   # nothing, a date line, or a stray list marker ("**d.")
    if len(tokens) <= 15 and not clause.lead_in and clause.text.rstrip().endswith("?"):
        return False                                   # "How is my data shared?": a help link or a title
    text = _QUOTED_LINK.sub(r"\1 here", clause.text)
    if text != clause.text:
        tokens = words(text)
    return not (len(tokens) <= 12 and _NAVIGATION.search(fold(text)))


def pair_up(old: list[Clause], new: list[Clause]
             ) -> tuple[list[tuple[Clause, Clause]], list[Clause], list[Clause]]:
    """Cancel clauses equal after folding (moves, reorders); pair the rest that are edits of one another.

    Returns the pairs (similar enough to be the same clause rewritten) and the unpaired clauses.
    """
    keys_new = Counter("".join(words(c.text)) for c in new)
    kept_old = []
    for c in old:
        key = "".join(words(c.text))
        if keys_new[key]:
            keys_new[key] -= 1
        else:
            kept_old.append(c)
    kept_new = []
    for c in new:
        key = "".join(words(c.text))
        if keys_new[key] > 0:
            kept_new.append(c)
            keys_new[key] -= 1
    old_sets, new_sets = [set(words(c.text)) for c in kept_old], [set(words(c.text)) for c in kept_new]
    candidates = [(i, j) for i, a in enumerate(old_sets) for j, b in enumerate(new_sets)
                  if len(a & b) >= 0.4 * max(len(a), len(b))]   # cheap filter before the real ratio
    scored = sorted(((SequenceMatcher(None, words(kept_old[i].text), words(kept_new[j].text),
                                      autojunk=False).ratio(), i, j) for i, j in candidates), reverse=True)
    pairs, used_old, used_new = [], set(), set()
    for ratio, i, j in scored:
        if ratio >= 0.5 and i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((kept_old[i], kept_new[j]))
    return (pairs, [c for i, c in enumerate(kept_old) if i not in used_old],
            [c for j, c in enumerate(kept_new) if j not in used_new])


_CUT_MIN_WORDS = 2  # words a cut-off sentence must keep: one shared first word is no evidence


def cut_sentences(old: list[Clause], new: list[Clause]) -> set[int]:
    """Clauses (ids) that only show a sentence cut off mid-way and run into the next one.

    A capture that breaks off a sentence and glues the next one to it ("…applies to any Member or
    Our registered users share…") loses words no editor removed: a clause of one side made of the
    start of a sentence of the other side followed by another whole sentence of it is that artefact,
    and so are the two sentences it was made of (and the same when a later capture restores them).
    """
    found: set[int] = set()
    for side, other in ((old, new), (new, old)):
        other_words = [words(c.text) for c in other]
        for clause in side:
            cut = words(clause.text)
            for j, tail in enumerate(other_words):
                k = len(cut) - len(tail)
                if not tail or k < _CUT_MIN_WORDS or cut[k:] != tail:
                    continue
                head = next((i for i, start in enumerate(other_words)
                             if i != j and k < len(start) and start[:k] == cut[:k]), None)
                if head is not None:
                    found.update((id(clause), id(other[head]), id(other[j])))
                    break
    return found


def substantive_clauses(removed: tuple[Clause, ...], added: tuple[Clause, ...], renames: tuple[Rename, ...] = ()
                         ) -> tuple[list[Clause], list[Clause], list[tuple[Clause, Clause]]]:
    """The removed and added clauses that differ in substance, and the edited pairs among them."""
    old = [c for c in removed if says_something(c)]
    new = [c for c in added if says_something(c)]
    if old and new and (cut := cut_sentences(old, new)):
        old, new = [c for c in old if id(c) not in cut], [c for c in new if id(c) not in cut]
    if (old or new) and form_only(" ".join(c.text for c in old), " ".join(c.text for c in new), renames):
        return [], [], []                              # split, merged or reworded in form only
    pairs, rest_old, rest_new = pair_up(old, new)
    pairs = [(a, b) for a, b in pairs if not form_only(a.text, b.text, renames)]
    if (rest_old or rest_new) and form_only(" ".join(c.text for c in rest_old),
                                            " ".join(c.text for c in rest_new), renames):
        rest_old, rest_new = [], []                    # a sentence split or merged, same words
    return [a for a, _ in pairs] + rest_old, [b for _, b in pairs] + rest_new, pairs
