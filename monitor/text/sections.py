"""Normalized text → section tree (headings and numbering) and clauses (sentences, list items)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from monitor.text import clauses as _clauses
from monitor.text.clauses import Clause, body_clauses, is_date_line, split_clauses

__all__ = ["Clause", "Section", "parse_sections", "split_clauses", "is_date_line", "slugify"]


@dataclass(frozen=True)
class Section:
    """One section of a policy version, in document order.

    `key` is a stable identity that does not depend on the number, so renumbering keeps it.
    `path` holds the display headings from the top, e.g. ("4. Sharing", "4.2 Partners").
    `text` is the section's own body (children excluded); `clauses` split it.
    `parent` is the parent section's key (None at the top level).
    """

    key: str
    number: str | None
    title: str
    level: int
    path: tuple[str, ...]
    text: str
    parent: str | None = None

    @property
    def clauses(self) -> tuple[Clause, ...]:
        """The body's clauses, split on first use: a diff splits only the bodies that changed (a 10 MB
        policy with 1% changed keeps 99% of its sections unsplit), and equal bodies share one split."""
        split = self.__dict__.get("_clauses")
        if split is None:  # kept on the instance (not a field: equality and hashing stay the body's)
            split = body_clauses(self.text)
            object.__setattr__(self, "_clauses", split)
        return split

    @property
    def heading(self) -> str:
        return self.path[-1] if self.path else ""

    @property
    def display_path(self) -> str:
        return " › ".join(self.path) if self.path else "(preamble)"


# ---------------------------------------------------------------------------------------------
# Heading candidates

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^(\*\*|__)(?P<t>[^*_].*?)\1\s*:?$")
_RULE_LINE = re.compile(r"^[\W_]{3,}$")  # "---", "* * *", "====": separators, not content
_WORD_NUMBER = re.compile(
    r"^(?P<word>article|section|chapter|part|clause|schedule|annex|appendix|§)\s*"
    r"(?P<n>\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6}|[A-Z])\b\.?(?:\s*[:.)\-–—]\s*|\s+|$)(?P<t>.*)$",
    re.IGNORECASE,
)
_DEC_NUMBER = re.compile(
    r"^(?P<n>\d{1,3}(?:\.\d{1,3})+)\.?(?:\s+|(?=[^\W\d_]))(?P<t>.*)$"  # 2.3 / 2.3.1 / 2.3.Title
    r"|^(?P<n1>\d{1,3})(?P<c1>[.)])(?:\s+|(?=[^\W\d_]))(?P<t1>.*)$"  # 1. / 1) / 1.Title
)
_WORD_NUMBER_FIRST = frozenset("ACPSacps§\u017f")  # what the words' first letters match ignoring case (ſ: s)
_PAREN_NUMBER = re.compile(r"^\((?P<n>\d{1,3}|[a-zA-Z]|[ivxlcIVXLC]{1,6})\)\s*(?P<t>.*)$")
_LETTER_NUMBER = re.compile(r"^(?P<n>[a-zA-Z]|[ivxlc]{2,6}|[IVXLC]{2,6})(?P<c>[.)])(?:\s+|(?=[A-Z]))(?P<t>.*)$")
_KEY_VALUE = re.compile(r"^[^:]{1,40}:\s*\S")
_TERMINAL = ".;,!"
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def _roman_value(token: str) -> int | None:
    total, prev = 0, 0
    for ch in reversed(token.lower()):
        value = _ROMAN.get(ch)
        if value is None:
            return None
        total = total - value if value < prev else total + value
        prev = max(prev, value)
    return total or None


@dataclass(frozen=True)
class _Number:
    """A parsed heading number: its style family (what siblings share) and its value in that family."""

    style: tuple[str, ...]
    value: tuple[int, ...]
    label: str
    title: str

    @property
    def is_first(self) -> bool:
        return self.value[-1] == 1


def _letter_style(token: str, closer: str, after_letter: str | None) -> tuple[tuple[str, ...], int]:
    """Tell letters from roman numerals: `i` is roman unless it follows `h` in the same list."""
    case = "upper" if token.isupper() else "lower"
    roman = _roman_value(token)
    if len(token) == 1 and not (token in "iI" and after_letter not in ("h", "H")):
        return ("alpha", case, closer), ord(token.lower()) - 96
    if roman is not None:
        return ("roman", case, closer), roman
    return ("alpha", case, closer), ord(token[0].lower()) - 96


def parse_number(line: str, last_letter: str | None = None) -> _Number | None:
    """Recognise a leading section number (`1.`, `2.3`, `(a)`, `iv.`, `Article 5`) and split it off."""
    first = line[:1]  # each pattern below can only match a line starting as it checks first
    match = _WORD_NUMBER.match(line) if first in _WORD_NUMBER_FIRST else None
    if match and (not match["t"] or not match["t"][0].islower()):
        token = match["n"]
        if token.isdigit() or "." in token:
            value = tuple(int(p) for p in token.split("."))
        else:
            value = (_roman_value(token) or ord(token.lower()) - 96,)
        label = f'{match["word"]} {token}' if match["word"] != "§" else f"§ {token}"
        return _Number(("word", match["word"].lower()), value, label, match["t"].strip())
    match = _DEC_NUMBER.match(line) if first.isdigit() else None
    if match:
        if match["n"]:
            value = tuple(int(p) for p in match["n"].split("."))
            return _Number(("dec", str(len(value))), value, match["n"], match["t"].strip())
        return _Number(("dec", "1", match["c1"]), (int(match["n1"]),), match["n1"] + match["c1"], match["t1"].strip())
    match = _PAREN_NUMBER.match(line) if first == "(" else None
    if match:
        token = match["n"]
        if token.isdigit():
            return _Number(("paren", "dec"), (int(token),), f"({token})", match["t"].strip())
        style, value = _letter_style(token, "()", last_letter)
        return _Number(("paren", *style), (value,), f"({token})", match["t"].strip())
    match = _LETTER_NUMBER.match(line) if first.isascii() and first.isalpha() and (
        "." in line[1:7] or ")" in line[1:7]) else None
    if match:
        style, value = _letter_style(match["n"], match["c"], last_letter)
        return _Number(style, (value,), match["n"] + match["c"], match["t"].strip())
    return None


# ---------------------------------------------------------------------------------------------
# Lines and blocks


# A line is a plain tuple (raw, text, indent, bullet), not a class: a 10 MB policy has 100,000 of
# them, and a tuple of strings and numbers is quicker to make and leaves the garbage collector's
# watch (which would otherwise walk them all again at every full collection). Its fields:
_RAW = 0  # the line without trailing whitespace, indentation kept
_TEXT = 1  # stripped, list glyph removed
_INDENT = 2
_BULLET = 3  # started with a bullet glyph
_Line = tuple[str, str, int, bool]

_BULLET_FIRST = frozenset("•·◦▪▫●○■□‣⁃∙➢►▶✓✔-*+–—")  # what a line BULLET matches starts with


def _make_line(raw: str) -> _Line:
    stripped = raw.strip()
    indent = len(raw) - len(raw.lstrip())
    if stripped[:1] in _BULLET_FIRST:
        match = _clauses.BULLET.match(stripped)
        if match:
            return raw, match["rest"].strip(), indent, True
    return raw, stripped, indent, False


_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")  # a line break and the blank lines after it


class _Reading:
    """What sectioning one text learned about its stretches and blocks, for sectioning the next text
    (the next version of the same policy, mostly the same blocks) to reuse rather than read again.
    Only the last text's is kept: memory stays that of one text."""

    def __init__(self) -> None:
        self.stretches: dict[str, tuple[tuple[_Line, ...], ...]] = {}
        self.units: dict[tuple, tuple[tuple[_Heading | _Line, ...], str | None]] = {}
        self.sections: dict[str, Section] = {}  # by key: an equal section of the next text is this one


_last_reading = _Reading()


def _blocks(text: str, reading: _Reading, known: _Reading) -> list[tuple[_Line, ...]]:
    """Runs of non-blank lines; blank lines and rule lines ("---") separate them."""
    blocks: list[tuple[_Line, ...]] = []
    for stretch in _BLANK_LINES.split(_clauses.clean_text(text)):
        found = known.stretches.get(stretch)
        if found is None:
            found = _stretch_blocks(stretch)
        reading.stretches[stretch] = found
        blocks += found
    return blocks


def _stretch_blocks(stretch: str) -> tuple[tuple[_Line, ...], ...]:
    """The blocks of text between blank lines: one, unless a rule line or a blank line at the text's
    edge splits it."""
    blocks: list[tuple[_Line, ...]] = []
    current: list[_Line] = []
    for raw in stretch.split("\n"):
        raw = raw.rstrip()
        stripped = raw.lstrip()
        if not stripped or (not stripped[0].isalnum() and _RULE_LINE.match(stripped)):  # [\W_] is not alnum
            if current:
                blocks.append(tuple(current))
                current = []
            continue
        current.append(_make_line(raw))
    if current:
        blocks.append(tuple(current))
    return tuple(blocks)


def _words(text: str) -> int:
    return len(text.split())


_URL_IN_TITLE = re.compile(r"\s*\S*https?://\S+")


def _title_ok(title: str, *, numbered: bool) -> bool:
    """Heading-like title: short, not a sentence (terminal punctuation), starts like a title."""
    title = title.strip().strip("*_").strip()
    if not title or len(title) > 120:
        return False
    if not (title[0].isalnum() or title[0] in "\"'“‘(§") or title[0].islower():
        return False
    if "@" in title or "http" in title.lower() or is_date_line(title):
        return False
    if title[0] == "(" and title[-1] == ")" and title.count("(") == 1:
        return False  # an aside in brackets ("(View previous version)", a link left of a Markdown link)
    words = _words(title)
    last = title[-1]
    if numbered:
        if words > 15 or last in ";," or (last in ".!" and words > 4):
            return False
        return not (last == ":" and words > 15)
    if words > 10 or last in _TERMINAL + ":" or _KEY_VALUE.match(title):
        return False
    return True


def _title_case(text: str) -> bool:
    """Most longer words capitalised ("Device Information and Access Logs"), as titles are written."""
    words = [w for w in re.findall(r"[^\W\d_]+", text) if len(w) >= 4]
    return not words or sum(w[0].isupper() for w in words) * 10 >= len(words) * 6


def _body_like(line: _Line | None) -> bool:
    """Is this line prose that a heading above would introduce (rather than another short label)?"""
    if line is None:
        return False
    text = line[_TEXT]
    if not line[_BULLET] and text[:1] in "#*_" and (_MD_HEADING.match(text) or _BOLD_LINE.match(text)):
        return False  # a label right above a real heading introduces nothing
    return len(text) > 40 or (bool(text) and text[-1] in ".:;!?)")


class _Heading(NamedTuple):
    kind: str  # "md", "bold", "number", "plain", "bullet"
    title: str
    label: str | None
    display: str
    style: tuple[str, ...]
    value: tuple[int, ...] | None = None
    md_level: int = 0


def _unit_stream(blocks: list[tuple[_Line, ...]], reading: _Reading,
                 known: _Reading) -> list[_Heading | _Line | None]:
    """Flatten blocks into headings and body lines; None marks a block boundary (blank line).

    A block's units depend on the block, the line after it and the list letter before it alone, so
    those of a block `known` from the last text are taken as they are."""
    units: list[_Heading | _Line | None] = []
    last_letter: str | None = None
    for bi, block in enumerate(blocks):
        if units:
            units.append(None)
        key = (block, blocks[bi + 1][0] if bi + 1 < len(blocks) else None, last_letter)
        found = known.units.get(key)
        if found is None:
            found = _block_units(*key)
        reading.units[key] = found
        block_units, last_letter = found
        units += block_units
    return units


def _block_units(block: tuple[_Line, ...], after: _Line | None,
                 last_letter: str | None) -> tuple[tuple[_Heading | _Line, ...], str | None]:
    """One block's headings and body lines, and the last list letter seen by its end."""
    units: list[_Heading | _Line] = []
    last = len(block) - 1
    for li, line in enumerate(block):
        nxt = block[li + 1] if li < last else after
        heading = _classify(line, li, block, nxt, last_letter)
        if heading is not None:
            units.append(heading)
            if heading.kind == "number" and heading.style[-2:-1] in (("lower",), ("upper",)):
                last_letter = heading.label.strip("()").rstrip(".)")
            continue
        if _may_be_lettered(line[_TEXT]):
            number = parse_number(line[_TEXT])
            if number is not None and number.style[0] in ("alpha", "paren"):
                last_letter = number.label.strip("()").rstrip(".)")
        units.append(line)
    return tuple(units), last_letter


def _may_be_lettered(text: str) -> bool:
    """Could `parse_number` read a letter or parenthesised number here ("(a)", "b.", "iv)")? Only one
    starting with "(", or with an ASCII letter and a "." or ")" in the next six characters, can be."""
    first = text[:1]
    return first == "(" or (first.isascii() and first.isalpha() and ("." in text[1:7] or ")" in text[1:7]))


def _classify(line: _Line, index: int, block: tuple[_Line, ...], nxt: _Line | None,
              last_letter: str | None) -> _Heading | None:
    text = line[_TEXT]
    md = None if line[_BULLET] or text[:1] != "#" else _MD_HEADING.match(text)
    if md:
        title = md[2].strip().strip("*_").strip()
        number = parse_number(title)
        return _Heading("md", number.title if number else title, number.label if number else None,
                        title, ("md",), number.value if number else None, len(md[1]))
    if index != 0 and not line[_BULLET]:
        return None  # headings open a block; later lines of a block are its body
    if line[_BULLET] and len(block) > 1:
        return None  # an item inside a list
    if index + 1 < len(block) and not text.endswith(("?", ":")) and not block[index + 1][_TEXT][:1].isupper() \
            and not block[index + 1][_TEXT][:1].isdigit() and not block[index + 1][_BULLET]:
        return None  # the next line goes on with the same sentence: a wrapped paragraph
    bold = None if line[_BULLET] or text[:2] not in ("**", "__") else _BOLD_LINE.match(text)
    if bold:
        title = bold["t"].strip()
        number = parse_number(title, last_letter)
        # (a bold numbered line may name the site it is about: "(1) When you browse our main page https://noyb.eu")
        if number is not None and _title_ok(_URL_IN_TITLE.sub("", number.title).strip() or number.title, numbered=True):
            return _Heading("bold", number.title, number.label, title, number.style, number.value)
        if _words(title) <= 15 and not is_date_line(title) and (title[-1] not in ".;," or _words(title) <= 4):
            return _Heading("bold", title, None, title, ("bold",))
        return None
    if nxt is None:
        return None  # nothing follows: a trailing label is not a heading
    number = parse_number(text, last_letter)
    if number is not None:
        if not _title_ok(number.title, numbered=True):
            return None
        following = block[index + 1:] if index + 1 < len(block) else [nxt]
        if following and following[0] is nxt:
            nxt_number = parse_number(nxt[_TEXT], last_letter)
            # "1. A" directly followed by "2. B": a list (e.g. a table of contents), not headings
            if nxt_number is not None and nxt_number.style == number.style and \
                    nxt_number.value[-1] == number.value[-1] + 1:
                return None
        if len(block) > 1 and index == 0 and any(parse_number(other[_TEXT]) is not None and
                                                 parse_number(other[_TEXT]).style == number.style
                                                 for other in block[1:3]):
            return None
        display = text.strip("*_ ")
        return _Heading("number", number.title, number.label, display, number.style, number.value)
    if not _title_ok(text, numbered=False) or not _body_like(nxt):
        return None
    if index + 1 < len(block) and not (text.endswith("?") or _title_case(text)):
        return None  # prose hard-wrapped after a few words, not a label over its text
    if line[_BULLET]:
        return _Heading("bullet", text, None, text, ("bullet", str(line[_INDENT])))
    return _Heading("plain", text, None, text, ("plain",))


# ---------------------------------------------------------------------------------------------
# Tree


@dataclass
class _Open:
    heading: _Heading
    key_index: int  # index into the builder's section list


def _chapter_style(units: list[_Heading | _Line | None]) -> tuple[str, ...] | None:
    """The numbering style of a page's chapters: the style of its first one-level number, when that is a bold line
    and the bold lines so numbered run 1, 2, 3… through the page, one by one. Bold labels between chapters
    ("**Cookies**" after "**4. How we use your data**") are then their subheadings, not their parents; None
    when the page's first numbering does not run so (a contents list numbered like the chapters, say), or when
    the page's chapters are Markdown headings (more than a title): numbers are then lists inside them."""
    headings = [unit for unit in units if isinstance(unit, _Heading)]
    numbered = [unit for unit in headings if unit.kind != "md" and unit.value is not None and len(unit.value) == 1]
    if not numbered or numbered[0].kind != "bold" or sum(1 for unit in headings if unit.kind == "md") > 1:
        return None  # (plain numbered lines among bold labels are a list: "10. Facebook pixel" heads no chapter)
    style = numbered[0].style
    values = [unit.value[0] for unit in numbered if unit.style == style and unit.kind == "bold"]
    runs = len(values) >= 3 and values[0] == 1 and all(b == a + 1 for a, b in zip(values, values[1:], strict=False))
    return style if runs else None


def _place(stack: list[_Open], heading: _Heading, chapters: tuple[str, ...] | None = None) -> None:
    """Pop `stack` down to where `heading` belongs (its parent on top); messy numbering tolerated. A heading
    of the `chapters` style (`_chapter_style`) opens at the top of the headings that are not Markdown ones."""
    if heading.kind == "md":
        while stack and not (stack[-1].heading.kind == "md" and stack[-1].heading.md_level < heading.md_level):
            stack.pop()
        return
    style, value = heading.style, heading.value
    if chapters is not None and style == chapters and value is not None and len(value) == 1:
        while stack and stack[-1].heading.kind != "md":
            stack.pop()
        return
    same = [i for i, entry in enumerate(stack) if entry.heading.style == style and entry.heading.kind != "md"]
    if value is None:  # unnumbered: sibling of the nearest same-style heading, else a child
        if same:
            # ...unless a chapter opened since: then it is one of that chapter's subheadings
            opened = [i for i in range(same[-1] + 1, len(stack)) if stack[i].heading.style == chapters]
            del stack[opened[-1] + 1 if opened else same[-1]:]
        return
    if style[0] == "dec" and len(value) > 1:  # 2.3 belongs under 2., next to 2.2
        for i in range(len(stack) - 1, -1, -1):
            entry = stack[i].heading
            if entry.value is not None and entry.style[0] in ("dec", "md") and entry.value == value[:-1]:
                del stack[i + 1:]
                return
    for i in reversed(same):  # the next number of an open list: a sibling there
        previous = stack[i].heading.value
        if previous is not None and previous[:-1] == value[:-1] and previous[-1] + 1 == value[-1]:
            del stack[i:]
            return
    if heading.value[-1] == 1:
        return  # a list restarting at 1: one level deeper
    if not same and len(value) == 1:  # "4." after "Section 3": the same sequence in another dress
        for i in range(len(stack) - 1, -1, -1):
            previous = stack[i].heading.value
            if previous is not None and len(previous) == 1 and previous[0] + 1 == value[0] and \
                    stack[i].heading.style[0] in ("dec", "word", "roman") and stack[i].heading.kind != "md":
                del stack[i:]
                return
    if not same:
        return  # a new style: one level deeper
    if same and stack[same[-1]].heading.value == value:
        return  # the same number again right below: nested numbering, not a sibling
    if same:
        del stack[same[-1]:]


_SLUG_DROP = re.compile(r"[*_`\[\]()]")
_SLUG_GAP = re.compile(r"[^\w]+")


@lru_cache(maxsize=65536)  # a 10 MB policy has 20,000 headings, each slugged when parsed and when aligned
def slugify(title: str) -> str:
    """Number-free identity of a heading: lower-case words joined by hyphens."""
    title = _clauses.without_dates(_clauses.fold_typography(title)).lower()
    slug = _SLUG_GAP.sub("-", _SLUG_DROP.sub("", title)).strip("-")
    return slug[:80] or "untitled"


def parse_sections(text: str) -> list[Section]:
    """Split normalized text into sections in document order; the first is the preamble.

    Headings come from `#` lines, bold-only lines, numbered lines (`1.`, `2.3`, `(a)`, `I.`,
    `Article 5`) and short title-like lines that introduce prose; nesting follows heading levels
    and numbering. Text before the first heading (and an unnumbered title) forms the preamble.
    """
    return list(_parse_sections(text))


@lru_cache(maxsize=8)
def _parse_sections(text: str) -> tuple[Section, ...]:
    """Sectioning once per text: a check reads the new text both for its stored sections and for the
    diff (and a source's next check in the same process may compare against it again, if still cached)."""
    global _last_reading
    known, reading = _last_reading, _Reading()
    units = _unit_stream(_blocks(text, reading, known), reading, known)
    _last_reading = reading
    # An unnumbered first heading before any other heading, with little text above it, is the
    # document's title: it names the preamble instead of becoming a parent of everything.
    first_heading = next((i for i, u in enumerate(units) if isinstance(u, _Heading)), None)
    preamble_title = ""
    if first_heading is not None:
        head = units[first_heading]
        above = sum(len(u[_TEXT]) for u in units[:first_heading] if u is not None)  # lines only, before it
        # a Markdown heading is the title only if no later heading is as high (an h2 among h2s is a section)
        outranked = isinstance(head, _Heading) and head.kind == "md" and any(
            isinstance(u, _Heading) and u.kind == "md" and u.md_level <= head.md_level
            for u in units[first_heading + 1:])
        if isinstance(head, _Heading) and head.label is None and above < 300 and not outranked:
            preamble_title = head.display
            units[first_heading] = None

    raw_sections: list[dict] = [{"heading": None, "level": 0, "path": (preamble_title,) if preamble_title else (),
                                 "lines": [], "parent": None}]
    stack: list[_Open] = []
    chapters = _chapter_style(units)
    for unit in units:
        if isinstance(unit, _Heading):
            _place(stack, unit, chapters)
            parent = stack[-1].key_index if stack else None
            path = tuple(raw_sections[e.key_index]["heading"].display for e in stack) + (unit.display,)
            raw_sections.append({"heading": unit, "level": len(stack) + 1, "path": path, "lines": [],
                                 "parent": parent})
            stack.append(_Open(unit, len(raw_sections) - 1))
        else:
            raw_sections[-1]["lines"].append(unit)

    keys = _assign_keys(raw_sections)
    sections: list[Section] = []
    for i, raw in enumerate(raw_sections):
        body = _body_text(raw["lines"])
        heading: _Heading | None = raw["heading"]
        if i == 0 and not body and len(raw_sections) > 1 and not preamble_title:
            continue
        key, number = keys[i], heading.label if heading else None
        title = heading.title if heading else preamble_title
        parent = keys[raw["parent"]] if raw["parent"] is not None else None
        section = known.sections.get(key)  # unchanged since the last text: shared (its body, its clauses once split)
        if section is None or (section.text, section.path, section.title, section.number, section.level,
                               section.parent) != (body, raw["path"], title, number, raw["level"], parent):
            section = Section(key=key, number=number, title=title, level=raw["level"], path=raw["path"],
                              text=body, parent=parent)
        reading.sections[key] = section
        sections.append(section)
    return tuple(sections)


def _body_text(lines: list[_Line | None]) -> str:
    """The lines' raw text, one blank line where blocks met, dedented by the smallest indentation."""
    out: list[str] = []
    margin = None
    for line in lines:
        if line is None:
            if out and out[-1]:
                out.append("")
        else:
            out.append(line[_RAW])
            if margin is None or line[_INDENT] < margin:
                margin = line[_INDENT]
    while out and not out[-1]:
        out.pop()
    if margin:
        out = [x[margin:] for x in out]
    return "\n".join(out)


def clear_caches() -> None:
    """Forget the last text's reading, parsed texts, slugs and the clause caches (for a cold start)."""
    global _last_reading
    _last_reading = _Reading()
    _parse_sections.cache_clear()
    slugify.cache_clear()
    _clauses.clear_caches()


def _assign_keys(raw_sections: list[dict]) -> list[str]:
    """Slug of the title; duplicates get the parent's slug, then an occurrence counter."""
    slugs = ["preamble"] + [slugify(r["heading"].title or r["heading"].display) for r in raw_sections[1:]]
    counts: dict[str, int] = {}
    for slug in slugs:
        counts[slug] = counts.get(slug, 0) + 1
    qualified = []
    for i, slug in enumerate(slugs):
        parent = raw_sections[i]["parent"]
        if counts[slug] > 1 and i > 0:
            slug = f"{slugs[parent] if parent is not None else 'top'}/{slug}"
        qualified.append(slug)
    seen: dict[str, int] = {}
    keys = []
    for slug in qualified:
        seen[slug] = seen.get(slug, 0) + 1
        keys.append(slug if seen[slug] == 1 else f"{slug}~{seen[slug]}")
    return keys
