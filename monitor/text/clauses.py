"""Section body → clauses (sentences and list items), plus the text folding used to compare them."""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pysbd
from pysbd.lang.english import English


@dataclass(frozen=True)
class Clause:
    """One sentence or list item. `lead_in` is the sentence introducing the list it belongs to, if any.

    `is_item` marks list items; `is_date` marks "last updated / effective date" lines (metadata).
    """

    text: str
    lead_in: str | None = None
    is_item: bool = False
    is_date: bool = False


# ---------------------------------------------------------------------------------------------
# Folding: what counts as "the same text"

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\t": " ",
    "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
    "\u2026": "...",
})


_CLEAN = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u200b": None, "\ufeff": None,
                        "\u00ad": None, "\t": "    ", "\r": None})


_NEEDS_CLEAN = ("\u00a0", "\u202f", "\u2007", "\u200b", "\ufeff", "\u00ad", "\t", "\r")


def clean_text(text: str) -> str:
    """Line endings, invisible characters and exotic spaces out; structure (newlines, indents) kept."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # one substring test per character: far faster on a 10 MB page than one search for any of them
    return text.translate(_CLEAN) if any(ch in text for ch in _NEEDS_CLEAN) else text


def fold_typography(text: str) -> str:
    """Curly quotes, dash kinds, odd spaces and soft hyphens → their plain forms (NFKC first)."""
    if text.isascii():  # NFKC keeps ASCII as it is, and of the marks folded only ` and tab are ASCII
        return text.replace("`", "'").replace("\t", " ") if "`" in text or "\t" in text else text
    return unicodedata.normalize("NFKC", text).translate(_QUOTES)


_SPELLING = [  # British → American, applied to lower-case text on both sides alike (comparison only)
    (re.compile(r"practis"), "practic"),
    (re.compile(r"(?<=\w\w)is(?=e[ds]?\b|ing\b|ation|ers?\b)"), "iz"),
    (re.compile(r"(?<=\w\w)ys(e|ed|es|ing)\b"), r"yz\1"),
    (re.compile(r"(?<=\w\w\w)our(s|ed|ing|able|ably|ite|ites)?\b"), r"or\1"),
    (re.compile(r"(?<=\w\w)tre(s)?\b"), r"ter\1"),
    (re.compile(r"(?<=\w\w\w)ogue(s)?\b"), r"og\1"),
    (re.compile(r"\b(licen|defen|offen|preten)ce"), r"\1se"),
    (re.compile(r"(?<=\w\w[aeiou])ll(ed|ing|er|ers)\b"), r"l\1"),
    (re.compile(r"\b(fulfil|enrol)(s|ment|ments)?\b"), r"\1l\2"),
    (re.compile(r"programme"), "program"),
    (re.compile(r"dgement"), "dgment"),
    (re.compile(r"\bageing\b"), "aging"),
]


_SPELLING_HINT = re.compile(
    r"is(?:e[ds]?|ing|ation|ers?)\b|isation|ys(?:e[ds]?|ing)\b|our(?:s|ed|ing|able|ably|ite|ites)?\b|tres?\b"
    r"|ogues?\b|(?:licen|defen|offen|preten)ce|ll(?:ed|ing|ers?)\b|fulfil|enrol|programme|practis|dgement|ageing")


def fold_spelling(lower_text: str) -> str:
    if not _SPELLING_HINT.search(lower_text):
        return lower_text  # most words: nothing to fold, one search instead of ten substitutions
    for pattern, replacement in _SPELLING:
        lower_text = pattern.sub(replacement, lower_text)
    return lower_text


def fold_contractions(text: str) -> str:
    """Contractions and a standalone `&` written out ("don't" → "do not", "&" → "and"), for comparison only.

    A possessive or "it's" is left alone: "'s" says either "is", "has" or whose, and "'d" "would" or "had".
    """
    if "'" not in text and "&" not in text:
        return text
    return _CONTRACTED.sub(_written_out, text)


_CONTRACTED = re.compile(r"\b(can|won|shan)'t\b|(?<=[^\W\d_])(n't|'ll|'re|'ve|'m)\b|(?<!\S)&(?!\S)", re.IGNORECASE)
_IRREGULAR_NOT = {"can": "can not", "won": "will not", "shan": "shall not"}
_CONTRACTED_WORD = {"n't": " not", "'ll": " will", "'re": " are", "'ve": " have", "'m": " am"}


def _written_out(match: re.Match) -> str:
    if match[1]:
        return _IRREGULAR_NOT[match[1].lower()]
    if match[2]:
        return _CONTRACTED_WORD[match[2].lower()]
    return "and"


BULLET = re.compile(r"^(?P<glyph>[•·◦▪▫●○■□‣⁃∙➢►▶✓✔]|[-*+–—](?=\s))\s*(?P<rest>.*)$")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LIST_MARKER = re.compile(
    r"^\s*(?:[•·◦▪▫●○■□‣⁃∙➢►▶✓✔]\s*|[-*+–—]\s+)?"
    r"(?:\(?\d{1,3}[.)](?=\s)|\(\d{1,3}\)|\(?[a-zA-Z][.)](?=\s)|\([a-zA-Z]\)|\(?[ivxlcIVXLC]{1,6}[.)](?=\s)"
    r"|\([ivxlcIVXLC]{1,6}\))\s*(?=\S)"
)


def strip_marker(text: str) -> str:
    """Drop a leading bullet glyph or list number: renumbered items and bullet styles are no change."""
    text = text.strip()
    match = _LIST_MARKER.match(text)
    if match:
        return text[match.end():]
    match = BULLET.match(text)
    return match["rest"] if match else text


@lru_cache(maxsize=65536)
def canonical(text: str) -> str:
    """The comparison form of a clause: equal canonical forms mean "no change" for a reader.

    Folds case, quote style, dash kinds, hyphenation (e-mail/email), British/American spelling,
    contractions ("don't"/"do not") and a standalone `&` ("and"),
    whitespace and the spacing around punctuation, bullet glyphs and list numbers, Markdown marks,
    HTML entities and tag fragments leaked from broken markup, and e-mail addresses (CDNs
    obfuscate them differently on every fetch, down to fragments like `privac[email protected]`).
    """
    text = strip_marker(text)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG_FRAGMENT.sub(" ", text)
    if not text.isascii():
        text = fold_typography(text)
    if "](" in text:
        text = _MD_LINK.sub(r"\1", text)
    if "@" in text or "protected]" in text:
        text = _EMAIL.sub(" @email ", text)
    return "".join(map(_fold_word, text.lower().split()))


_TAG_FRAGMENT = re.compile(r"</?[a-zA-Z][^<>]{0,80}>")
_EMAIL = re.compile(r"\S*\[email(?:\s|&#160;)*protected\]\S*|\[email\]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@lru_cache(maxsize=131072)
def _fold_word(word: str) -> str:
    """One whitespace-separated token in comparison form (cached: policies reuse their words)."""
    word = fold_spelling(word.replace("**", "").replace("__", ""))
    if "'" in word or word == "&":
        word = fold_contractions(word).replace(" ", "")
    if "-" in word:
        word = _INNER_HYPHEN.sub("", word)
    return word.replace('"', "").replace("'", "")


_INNER_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


# ---------------------------------------------------------------------------------------------
# Dates

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DATE_TOKEN = re.compile(
    rf"\b(?:19|20)\d\d\b|\b\d{{1,4}}[/.\-]\d{{1,2}}[/.\-]\d{{1,4}}\b|\b(?:{_MONTHS})\b\.?\s*\d|\d\s*(?:{_MONTHS})\b"
    r"|\d{4}\s*年", re.IGNORECASE)
_DATE_WORD = re.compile(
    r"\b(?:updated?|modified|revised|amended|changed|effective|released|published|dated?|version|revision"
    r"|as of|valid from|in force)\b|更新|生效", re.IGNORECASE)


_BARE_DATE = re.compile(rf"[\d\s,./\-\[\]()年月日]*(?:(?:{_MONTHS})\.?[\d\s,./\-\[\]()]*)?", re.IGNORECASE)


_DIGIT = re.compile(r"\d")
_EMPTY_VALUE = re.compile(r"[^:]{1,40}:[\s\[\]]*")


def without_dates(text: str) -> str:
    """The text with dates taken out (a heading like "Privacy Policy (updated 5 May 2024)")."""
    if _DIGIT.search(text) is None:  # every date has a digit; most headings have none (a cheaper search)
        return text
    return _DATE_TOKEN.sub(" ", text) if _DATE_TOKEN.search(text) else text


def is_dated_heading(text: str) -> bool:
    """A heading that carries a "last updated / effective" date: its date is metadata, not a title."""
    return len(text) <= 200 and _DATE_WORD.search(text) is not None and _DATE_TOKEN.search(text) is not None


_LETTERS = re.compile(r"[^\W\d_]{3,}")
_DATE_VOCABULARY = frozenset(
    "this that the our its was were been has have had and are for from with you your is be on of in at as by "
    "last date day month year privacy policy notice statement terms conditions cookie cookies version revision "
    "effective effect updated update updates modified modification revised revision amended changed change "
    "released release published dated valid force since until made take takes took came come comes into "
    "current latest page document website site service services app apps rev ver edition"
    .split())


# A date word anywhere in a body: without word boundaries (stripping `_` or `*` off a line can make
# one) and with any run of whitespace for a space (a line break inside a sentence becomes one).
_DATE_WORD_ANYWHERE = re.compile(_DATE_WORD.pattern.replace(r"\b", "").replace(" ", r"\s+"), re.IGNORECASE)


def may_hold_dates(body: str) -> bool:
    """Could some clause of this body be a date line? False only when none can: `is_date_line` needs a
    date, which has a digit, or a date word and a colon. (A cheap test, not a sharp one: such a body
    need not be split to find its dates.)"""
    if body.isascii():  # ten substring tests are far quicker than one search for a digit
        if any(digit in body for digit in "0123456789"):
            return True
    elif _DIGIT.search(body) is not None:
        return True
    return ":" in body and _DATE_WORD_ANYWHERE.search(body) is not None


def is_date_line(text: str) -> bool:
    """A "last updated / effective date" line: metadata to report as kind `date`, never content."""
    if len(text) > 240:
        return False
    text = text.strip().strip("*_#").strip()
    if not text or (not _DIGIT.search(text) and not text.rstrip("[] ").endswith(":")):
        return False  # every date has a digit; only an empty "Effective date:" has none
    words = len(text.split())
    if words > 18:
        return False
    word = _DATE_WORD.search(text)
    has_word = word is not None
    token = _DATE_TOKEN.search(text)
    if has_word and token:
        # Metadata says little besides the date: "This Privacy Policy was last updated on 3 May
        # 2024." "We updated our retention period on 1 May 2024" is content, and so is "data
        # collected before 2018 is deleted after the effective date".
        rest = [w for w in _LETTERS.findall(_DATE_TOKEN.sub(" ", text).lower()) if w not in _DATE_VOCABULARY]
        return len(rest) <= 1
    if has_word and words <= 5 and _EMPTY_VALUE.fullmatch(text):
        return True  # "Effective date:" with its value left empty
    return words <= 5 and _DATE_TOKEN.search(text) is not None and _BARE_DATE.fullmatch(text) is not None


# ---------------------------------------------------------------------------------------------
# Sentences

# Tokens before a period that never end a sentence in practice, and ones that do; anything else
# in pysbd's abbreviation list is left to pysbd for that paragraph.
_NO_SPLIT = {"e.g", "i.e", "eg", "ie", "co", "ltd", "inc", "corp", "mr", "mrs", "ms", "dr", "prof", "st", "no",
             "nos", "vs", "v", "cf", "fig", "art", "p", "pp", "sec", "para", "approx", "jr", "sr", "u.s", "u.k",
             "e.u", "u.s.a", "viz", "al", "ref", "tel", "ph", "esp", "dept", "incl", "min", "max"}
_SPLIT = {"etc", "id", "ill", "con", "del", "ind", "dec", "fed", "gen", "hon", "pa", "us", "ok", "mo"}
_AMBIGUOUS = set(English.Abbreviation.ABBREVIATIONS) - _NO_SPLIT - _SPLIT
_CANDIDATE = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|[。！？]\s*")
_LAST_TOKEN = re.compile(r"(\S+)\.$")
_SEGMENTERS = threading.local()


def _segmenter() -> pysbd.Segmenter:
    """One pysbd segmenter per thread: building one is slow, and segment() keeps state on it."""
    segmenter = getattr(_SEGMENTERS, "segmenter", None)
    if segmenter is None:
        segmenter = _SEGMENTERS.segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter


@lru_cache(maxsize=32768)
def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences of one paragraph or list item (no newlines inside).

    Clear boundaries are decided by rule (fast); a stretch holding an abbreviation whose role is
    unclear goes to pysbd, which knows `e.g.`, `U.S.`, `Inc.` and numbered items. Only that
    stretch (between clear boundaries) is given to pysbd, so a huge paragraph stays fast.
    """
    text = text.strip()
    if not text:
        return ()
    cuts: list[int] = []
    unclear: list[int] = []  # cut positions pysbd should decide
    for match in _CANDIDATE.finditer(text):
        start = match.start()  # the terminal punctuation mark
        if start == 0 or match.end() >= len(text):
            continue
        if text[start] != ".":
            cuts.append(match.end())
            continue
        token = _LAST_TOKEN.search(text[max(0, start - 60):start + 1])
        word = token[1].lower().lstrip("(\"'“‘[") if token else ""
        if word in _NO_SPLIT:
            continue
        if len(word) == 1 and token and token[1].isupper():
            continue  # an initial ("J. Smith")
        if word in _AMBIGUOUS or ("." in word and not word.replace(".", "").isdigit()) or \
                (len(word) == 1 and word.isalpha()):
            unclear.append(match.end())
            continue
        cuts.append(match.end())
    bounds = [0, *cuts, len(text)]
    sentences: list[str] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        piece = text[a:b].strip()
        if not piece:
            continue
        if any(a < u < b for u in unclear) and len(piece) <= _PYSBD_MAX:
            sentences.extend(s.strip() for s in _segmenter().segment(piece) if s.strip())
        else:
            sentences.append(piece)
    return tuple(sentences)


_PYSBD_MAX = 4000  # pysbd is slow on long text; a longer unclear stretch stays one clause


_LINE_END = re.compile(r"(?:(?<=[:;。！？])|(?<=[.!?])[\"'”’)\]]*)[ ]*\n\s*")
_FUNCTION_WORDS = frozenset("a an and or the of to with for in on at by as from such including is are that our your "
                            "its their".split())
_OPENS_A_SENTENCE = re.compile(r"[A-Z][a-z]")


def _stands_alone(line: str, following: str) -> bool:
    """Is the line break after `line` a block boundary whatever its punctuation: a table row (on either side:
    the normalizer writes each row on a line of its own, cells joined by " | "), or a title line inside a list
    item ("Secure disposal" over "When we no longer…": a capital first, at most four words or every long
    word capitalised, no sentence punctuation and no trailing function word) over a sentence?"""
    if " | " in line or " | " in following:
        return True
    words = line.split()
    if not words or not line[0].isupper() or len(line) > 60 or line[-1] in ".,;:!?(" \
            or words[-1].lower() in _FUNCTION_WORDS:
        return False
    titled = len(words) <= 4 or all(w[:1].isupper() for w in words if len(w) > 3)
    return titled and bool(_OPENS_A_SENTENCE.match(following))


def _paragraph_sentences(text: str) -> list[str]:
    """Sentences of a multi-line paragraph.

    A line break after `:` `;` or a sentence end is a boundary (lines of a plain-text page often
    are its sentences), unless the period belongs to an abbreviation or a number ("Section 4.",
    "e.g."); so is one around a table row or after a title line (`_stands_alone`); any other line
    break is re-wrapping.
    """
    if "\n" not in text:
        return list(split_sentences(" ".join(text.split())))
    lines = [line.strip() for line in text.split("\n")]
    blocks = [[lines[0]]]
    for line, following in zip(lines, lines[1:], strict=False):
        if _stands_alone(line, following):
            blocks.append([following])
        else:
            blocks[-1].append(following)
    return [s for block in blocks for s in _block_sentences("\n".join(block))]


def _block_sentences(text: str) -> list[str]:
    """Sentences of lines that no table row or title line parts (`_paragraph_sentences`): a line end after a
    sentence end is a boundary, any other is re-wrapping."""
    pieces: list[str] = []
    start = 0
    for match in _LINE_END.finditer(text):
        end = match.start()
        if text[end - 1:end] == "." or text[match.start():match.end()].lstrip()[:1] in "\"'”’)]":
            token = _LAST_TOKEN.search(text[max(0, end - 60):end + 1].rstrip("\"'”’)] \n"))
            word = token[1].lower() if token else ""
            if word in _NO_SPLIT or len(word) == 1 or "." in word or word.isdigit():
                continue  # "Section 4.", "e.g.", "Acme Inc." at a line end: the sentence goes on
        pieces.append(text[start:match.end()])
        start = match.end()
    pieces.append(text[start:])
    sentences: list[str] = []
    for piece in pieces:
        sentences.extend(split_sentences(" ".join(piece.split())))
    return sentences


# ---------------------------------------------------------------------------------------------
# Clauses of a section body


def _is_list_line(line: str) -> bool:
    stripped = line.strip()
    return bool(BULLET.match(stripped)) or bool(_LIST_MARKER.match(stripped))


@dataclass
class _Entry:
    kind: str  # "item" or "para"
    indent: int
    lines: list[str]
    glyph: bool = False  # a bulleted item ("- ", "•"), not a numbered paragraph ("5. …", "(a) …")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _entries(body: str) -> list[_Entry | None]:
    """Body lines → list items and paragraphs; None marks a blank line between blocks."""
    entries: list[_Entry | None] = []
    for raw in clean_text(body).split("\n"):
        if not raw.strip():
            if entries and entries[-1] is not None:
                entries.append(None)
            continue
        indent = len(raw) - len(raw.lstrip())
        previous = entries[-1] if entries else None
        if _is_list_line(raw):
            entries.append(_Entry("item", indent, [strip_marker(raw)], bool(BULLET.match(raw.strip()))))
        elif previous is not None and (previous.kind == "para" or indent > previous.indent):
            previous.lines.append(raw.strip())  # a wrapped line continues the paragraph or item
        else:
            entries.append(_Entry("para", indent, [raw.strip()]))
    return entries


def split_clauses(text: str) -> list[Clause]:
    """Split a section body into clauses: sentences of paragraphs, and list items with their lead-in.

    A list item's `lead_in` is the sentence that introduces its list: the last sentence of the
    paragraph before it, or of its parent item for nested lists. Numbered paragraphs ("5. Right to
    …") get a lead-in only when that sentence announces a list (ends with ':'). Paragraphs that
    follow a lead-in ending with ':' and end with ';' (lists written as paragraphs) count as items.
    """
    clauses: list[Clause] = []
    list_lead: str | None = None
    list_lead_indent = 0
    item_stack: list[tuple[int, str]] = []
    implicit_open = False  # inside a list written as paragraphs ("…following cases:" / "…;")
    previous_kind = None
    for entry in _entries(text):
        if entry is None:
            previous_kind = "blank" if previous_kind != "item" else "item"
            continue
        sentences = _paragraph_sentences(entry.text)
        if not sentences:
            continue
        if entry.kind == "item":
            while item_stack and item_stack[-1][0] >= entry.indent:
                item_stack.pop()
            # a paragraph introduces only the lists at its own depth or deeper: an item further out (the
            # next "- 9. …" after a block nested in item 8) belongs to a list that paragraph did not announce
            lead = item_stack[-1][1] if item_stack else list_lead if entry.indent >= list_lead_indent else None
            if not item_stack and not entry.glyph and lead and not lead.rstrip().endswith((":", "：")):
                lead = None
            clauses.extend(Clause(s, lead, True, is_date_line(s)) for s in sentences)
            item_stack.append((entry.indent, sentences[-1]))
            previous_kind = "item"
            continue
        words = len(entry.text.split())
        if implicit_open and list_lead and words <= 80 and previous_kind == "blank":
            clauses.extend(Clause(s, list_lead, True, is_date_line(s)) for s in sentences)
            implicit_open = sentences[-1].rstrip().endswith((";", ",", " and", " or", "；"))
            continue
        clauses.extend(Clause(s, None, False, is_date_line(s)) for s in sentences)
        list_lead, list_lead_indent = sentences[-1], entry.indent
        item_stack = []
        implicit_open = list_lead.rstrip().endswith((":", "："))
        previous_kind = "para"
    return clauses


@lru_cache(maxsize=32768)
def body_clauses(text: str) -> tuple[Clause, ...]:
    """`split_clauses` of a section body, cached by body: consecutive versions of a policy share
    nearly all their section bodies, so the new version's split is mostly the old one's (a 10 MB
    policy with 1% changed splits its sentences once, not twice). The entries hold the same strings
    the parsed sections hold."""
    return tuple(split_clauses(text))


def clear_caches() -> None:
    """Forget cached sentence splits and comparison forms (benchmarks measure a cold start with it)."""
    body_clauses.cache_clear()
    split_sentences.cache_clear()
    canonical.cache_clear()
    _fold_word.cache_clear()
