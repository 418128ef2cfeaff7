"""Edits of whole real policies: form-only ones that must never alert, material ones that must alert.

The policies are the 260 real ones vendored in `tests/corpus/policies.tar.xz` (Open Terms Archive
contributors, ODC-BY 1.0). Each edit is made on the recorded Markdown, so the page goes through the
real normalizer, sections, diff and significance (`check`'s path from bytes on), dressed in chrome
that changes between the two fetches.

Form-only edits rewrite a policy without changing what it says, the issue's and REAL_WORLD.md's
classes of noise: spelling swapped British ↔ American, a term replaced throughout ("personal
information" → "personal data"), contractions, `&` for "and", sentences or paragraphs split, joined
or swapped, list items reordered, sections swapped, headings renumbered, re-cased or promoted from
bold, a heading or a table of contents inserted, a notice injected above the policy, ages written in
words… None may alert.

Material edits change one thing a policy says about a watched topic, as real histories do: an age
limit or a retention period changed, "we do not sell" turned into "we may sell", a recipient added to
a sharing sentence, a sentence selling data added, the children's or the retention section removed.
Each must alert with its topic.

`tests/test_policy_edits.py` keeps a sample of the train and dev policies at no false alert and no
miss; `benchmarks/bench_policy_edits.py` prints the figures per edit for a split. Each edit is seeded
by policy and edit name, and returns None where the policy has nothing to edit.
"""

from __future__ import annotations

import io
import json
import lzma
import random
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "tests" / "corpus" / "policies.tar.xz"
WATCHED = ("sharing", "retention", "minors")

Edit = Callable[[str, random.Random], "str | None"]


@cache
def policies() -> dict[str, str]:
    """Service name → the recorded Markdown of its current policy."""
    found: dict[str, str] = {}
    with lzma.open(POLICIES) as packed, tarfile.open(fileobj=io.BytesIO(packed.read())) as tar:
        for member in tar.getmembers():
            path = Path(member.name)
            if member.isfile() and path.suffix == ".md" and path.parent.name == "policies":
                found[path.stem] = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    return dict(sorted(found.items()))


def services_of(*splits: str) -> list[str]:
    """The vendored policies whose service `data/splits.json` puts in one of `splits`."""
    services = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
    return [name for name in policies() if services.get(name) in splits]


# ---------------------------------------------------------------------------------------------
# The edits

_BRITISH = {"analyse": "analyze", "behaviour": "behavior", "organisation": "organization", "personalise": "personalize",
            "licence": "license", "colour": "color", "centre": "center", "recognise": "recognize",
            "optimise": "optimize", "authorise": "authorize", "minimise": "minimize", "favour": "favor",
            "programme": "program", "anonymise": "anonymize", "pseudonymise": "pseudonymize",
            "customise": "customize", "utilise": "utilize", "categorise": "categorize", "summarise": "summarize",
            "defence": "defense"}
_SUFFIX = r"(?=(?:s|d|ed|ing|es|r|rs|ation|ations)?\b)"


def spelling(md: str, rng: random.Random) -> str | None:
    """Each of twenty word families respelled the other way (British ↔ American) throughout."""
    out = md
    for british, american in _BRITISH.items():
        old, new = (british, american) if rng.random() < 0.5 else (american, british)
        out = re.sub(rf"\b{old}{_SUFFIX}", new, out)
        out = re.sub(rf"\b{old.capitalize()}{_SUFFIX}", new.capitalize(), out)
    return out


def term_replaced(md: str, _rng: random.Random) -> str | None:
    """"personal information" → "personal data" everywhere, headings included."""
    out = re.sub(r"\bpersonal information\b", "personal data", md)
    return re.sub(r"\bPersonal Information\b", "Personal Data", out)


def contractions(md: str, rng: random.Random) -> str | None:
    """"do not" ↔ "don't" and the like, throughout."""
    out = md
    for full, short in (("do not", "don't"), ("does not", "doesn't"), ("will not", "won't"), ("cannot", "can't"),
                        ("is not", "isn't"), ("we will", "we'll"), ("you are", "you're")):
        out = re.sub(rf"\b{full}\b", short, out) if rng.random() < 0.7 else re.sub(rf"\b{short}\b", full, out)
    return out


def ampersands(md: str, _rng: random.Random) -> str | None:
    """The first five "X and Y" written "X & Y"."""
    return re.sub(r"(\w) and (\w)", r"\1 & \2", md, count=5)


def serial_comma(md: str, _rng: random.Random) -> str | None:
    """The comma before "and"/"or" closing a list taken out."""
    return re.sub(r"(\w+, \w+), (and|or) ", r"\1 \2 ", md)


def hyphenation(md: str, _rng: random.Random) -> str | None:
    """"e-mail" ↔ "email" throughout (never inside the normalizer's `[email protected]` placeholder)."""
    out = re.sub(r"\b([eE])-mail", r"\1mail", md)
    if out == md:
        out = re.sub(r"(?<!\[)\b([eE])mail(?! protected)", r"\1-mail", md)
    return out


def abbreviation(md: str, _rng: random.Random) -> str | None:
    """"e.g." ↔ "for example"."""
    out = re.sub(r"\be\.g\.,? ", "for example, ", md)
    return out if out != md else re.sub(r"\bfor example,? ", "e.g., ", md)


def agreement(md: str, _rng: random.Random) -> str | None:
    """"data is" ↔ "data are" throughout (an agreement fix)."""
    out = re.sub(r"\bdata is\b", "data are", md)
    return out if out != md else re.sub(r"\bdata are\b", "data is", md)


_NUMBER_WORDS = {"13": "thirteen", "16": "sixteen", "18": "eighteen"}


def ages_in_words(md: str, _rng: random.Random) -> str | None:
    """An age limit written in words ("under 13" → "under thirteen")."""
    return re.sub(r"\b(under|below|younger than|under the age of|over the age of|at least) (13|16|18)\b",
                  lambda m: f"{m[1]} {_NUMBER_WORDS[m[2]]}", md)


# Paragraph-level edits touch plain paragraphs only: a top-level line of prose with a blank line before it,
# not a heading, list item, table row, link line or an indented continuation (which would change structure)
_NOT_PROSE = ("#", "*", "-", "+", "|", "[", ">", "•", "·", "–")
_SENTENCE_GAP = re.compile(r"(?<=[a-z]\.) (?=[A-Z][a-z]+ [a-z])")


def _prose(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines)
            if len(line) > 80 and line == line.lstrip() and not line.startswith(_NOT_PROSE)
            and not re.match(r"\(?\w{1,3}[.)] ", line) and (i == 0 or lines[i - 1] == "") and ". " in line
            and "**" not in line and not line.endswith("  ")]


def _sentences(line: str) -> list[str] | None:
    parts = _SENTENCE_GAP.split(line)
    return parts if len(parts) >= 2 and not any("[" in p or "]" in p for p in parts) else None


def _one_place(md: str, rng: random.Random, places: Callable[[list[str]], list[int]],
               change: Callable[[list[str], int], None]) -> str | None:
    """`md` with `change` made to its lines at one of the `places` (line numbers) chosen by `rng`."""
    lines = md.split("\n")
    found = places(lines)
    if not found:
        return None
    change(lines, rng.choice(found))
    return "\n".join(lines)


def paragraph_split(md: str, rng: random.Random) -> str | None:
    """One paragraph cut in two between sentences."""
    def split(lines: list[str], i: int) -> None:
        parts = _sentences(lines[i])
        cut = rng.randrange(1, len(parts))
        lines[i:i + 1] = [" ".join(parts[:cut]), "", " ".join(parts[cut:])]
    return _one_place(md, rng, lambda lines: [i for i in _prose(lines) if _sentences(lines[i])], split)


def _prose_pairs(lines: list[str]) -> list[int]:
    prose = set(_prose(lines))
    return [i for i in sorted(prose) if i + 2 in prose and lines[i + 1] == ""]


def paragraphs_joined(md: str, rng: random.Random) -> str | None:
    """Two consecutive paragraphs made one."""
    def join(lines: list[str], i: int) -> None:
        lines[i:i + 3] = [lines[i] + " " + lines[i + 2]]
    return _one_place(md, rng, _prose_pairs, join)


def paragraphs_swapped(md: str, rng: random.Random) -> str | None:
    """Two consecutive paragraphs of a section in the other order."""
    def swap(lines: list[str], i: int) -> None:
        lines[i], lines[i + 2] = lines[i + 2], lines[i]
    return _one_place(md, rng, _prose_pairs, swap)


def sentences_swapped(md: str, rng: random.Random) -> str | None:
    """Two neighbouring sentences of one paragraph in the other order."""
    def swap(lines: list[str], i: int) -> None:
        parts = _sentences(lines[i])
        k = rng.randrange(len(parts) - 1)
        parts[k], parts[k + 1] = parts[k + 1], parts[k]
        lines[i] = " ".join(parts)

    def places(lines: list[str]) -> list[int]:  # (a paragraph ending in a colon announces what follows it)
        return [i for i in _prose(lines)
                if (parts := _sentences(lines[i])) and len(parts) >= 3 and lines[i].endswith(".")]
    return _one_place(md, rng, places, swap)


def list_reordered(md: str, rng: random.Random) -> str | None:
    """The items of one flat list (three or more) shuffled."""
    lines = md.split("\n")
    runs: list[tuple[int, int]] = []
    start = None
    for i, line in enumerate([*lines, ""]):
        if re.match(r"^ {0,3}[*-] +\S", line) and not (i + 1 < len(lines) and lines[i + 1].startswith("    ")):
            start = i if start is None else start
        else:
            if start is not None and i - start >= 3:
                runs.append((start, i))
            start = None
    if not runs:
        return None
    first, end = rng.choice(runs)
    items = lines[first:end]
    rng.shuffle(items)
    lines[first:end] = items
    return "\n".join(lines)


def heading_inserted(md: str, rng: random.Random) -> str | None:
    """A new heading put above a paragraph that stays as it was."""
    def insert(lines: list[str], i: int) -> None:
        lines[i:i] = ["### In brief", ""]
    return _one_place(md, rng, _prose, insert)


def headings_upper_cased(md: str, _rng: random.Random) -> str | None:
    """Every `#` heading in capitals."""
    return re.sub(r"^(#+\s+)(.+)$", lambda m: m[1] + m[2].upper(), md, flags=re.M)


def headings_renumbered(md: str, _rng: random.Random) -> str | None:
    """Every numbered `#` heading's number one higher."""
    return re.sub(r"^(#+\s*)(\d+)(\.)", lambda m: f"{m[1]}{int(m[2]) + 1}{m[3]}", md, flags=re.M)


def bold_headings(md: str, _rng: random.Random) -> str | None:
    """Bold-only title lines made `###` headings (or, in a policy without them, `###` headings made bold lines)."""
    out = re.sub(r"^\*\*([^*\n]{3,80})\*\*\s*$", r"### \1", md, flags=re.M)
    return out if out != md else re.sub(r"^#{3,4}\s+(.{3,80})$", r"**\1**", md, flags=re.M)


def contents_added(md: str, _rng: random.Random) -> str | None:
    """A table of contents (links to every `##`/`###` heading) put above the first such heading."""
    titles = re.findall(r"^#{2,3}\s+(.+)$", md, flags=re.M)
    if len(titles) < 3:
        return None
    contents = "## Contents\n\n" + "\n".join(f"* [{t}](#s{i})" for i, t in enumerate(titles)) + "\n\n"
    first = re.search(r"^#{2,3}\s+", md, flags=re.M)
    return md[:first.start()] + contents + md[first.start():]


def sections_swapped(md: str, rng: random.Random) -> str | None:
    """Two neighbouring sections of one level (each with its subsections) in the other order."""
    lines = md.split("\n")
    headings = [(i, len(line) - len(line.lstrip("#"))) for i, line in enumerate(lines) if re.match(r"^#{2,3}\s", line)]
    candidates = []
    for (a, level_a), (b, level_b) in zip(headings, headings[1:], strict=False):
        if level_a == level_b:
            end = next((i for i, level in headings if i > b and level <= level_b), len(lines))
            candidates.append((a, b, end))
    if not candidates:
        return None
    a, b, end = rng.choice(candidates)
    lines[a:end] = lines[b:end] + [""] + lines[a:b]
    return "\n".join(lines)


def paragraph_moved(md: str, rng: random.Random) -> str | None:
    """One paragraph moved to the end of the next section (the policy still says it, elsewhere)."""
    lines = md.split("\n")
    headings = [i for i, line in enumerate(lines) if re.match(r"^#{1,4}\s", line)]
    prose = [i for i in _prose(lines) if any(h > i for h in headings[1:])]
    movable = [i for i in prose if sum(h > i for h in headings) >= 2]
    if not movable:
        return None
    i = rng.choice(movable)
    following = [h for h in headings if h > i]
    end = following[1]                                  # the line after the next section's text
    moved = lines[i]
    out = lines[:i] + lines[i + 2:end] + [moved, ""] + lines[end:] if lines[i + 1] == "" else None
    return None if out is None else "\n".join(out)


def company_renamed(md: str, _rng: random.Random, service: str = "") -> str | None:
    """The company's name (its service's name, as the text capitalises it) replaced everywhere by another,
    links and domains left as they were (a rebrand)."""
    parts = [p for p in re.split(r"[-_]", service) if p and p not in ("com", "inc", "app")]
    if not parts:
        return None
    name = re.compile(r"(?<![\w./@])" + r"[ -]?".join(re.escape(p) for p in parts) + r"(?![\w/@-]|\.\w)",
                      re.IGNORECASE)
    found = [m for m in name.finditer(md) if m[0][0].isupper()]
    if len(found) < 3:
        return None
    out, last = [], 0
    for m in found:
        out += [md[last:m.start()], "Examplia"]
        last = m.end()
    return "".join(out) + md[last:]


def curly_quotes(md: str, _rng: random.Random) -> str | None:
    """Straight quotes and apostrophes made typographic (“…”, ’)."""
    out = re.sub(r'"([^"\n]{1,80})"', "\u201c\\1\u201d", md)
    return re.sub(r"(?<=\w)'(?=\w)", "\u2019", out)


def headings_demoted(md: str, _rng: random.Random) -> str | None:
    """Every `##`–`#####` heading one level lower (a theme's new heading styles)."""
    return re.sub(r"^(#{2,5}) ", r"#\1 ", md, flags=re.MULTILINE)


def link_reworded(md: str, _rng: random.Random) -> str | None:
    """"click here" → "visit this page"."""
    return re.sub(r"\b[Cc]lick here\b", "visit this page", md)


def notice_injected(md: str, _rng: random.Random) -> str | None:
    """"We have updated our Privacy Policy…" put above the policy, as sites announce a new version."""
    return "We have updated our Privacy Policy. Please take a moment to review it.\n\n" + md


FORM_EDITS: dict[str, Edit] = {edit.__name__: edit for edit in (
    spelling, term_replaced, contractions, ampersands, serial_comma, hyphenation, abbreviation, agreement,
    ages_in_words, paragraph_split, paragraphs_joined, paragraphs_swapped, sentences_swapped, list_reordered,
    heading_inserted, headings_upper_cased, headings_renumbered, bold_headings, contents_added, sections_swapped,
    paragraph_moved, company_renamed, curly_quotes, headings_demoted, link_reworded, notice_injected)}


# ---------------------------------------------------------------------------------------------
# Material edits: one change of substance each, and the topic it is about


def _replace_first(md: str, pattern: str, replacement: Callable[[re.Match], str]) -> str | None:
    """`md` with the first match of `pattern` replaced by `replacement(match)`; None without a match."""
    found = re.search(pattern, md)
    return None if not found else md[:found.start()] + replacement(found) + md[found.end():]


def age_limit_changed(md: str, _rng: random.Random) -> str | None:
    """The first age limit of 13 raised to 16 (or of 16 to 18)."""
    return _replace_first(md, r"\b(under|younger than|under the age of|below the age of) (13|16)\b",
                          lambda m: f"{m[1]} {'16' if m[2] == '13' else '18'}")


_LENGTH = re.compile(r"\b(\d{1,3}) (days|months|years)\b(?! (?:of age|old))")
_KEEPING = re.compile(r"\b(?:retain|keep|store|delete|kept|retained|stored|deleted)", re.IGNORECASE)


def age_limit_lowered(md: str, _rng: random.Random) -> str | None:
    """The first age limit of 16 or 18 lowered to 13."""
    return _replace_first(md, r"\b(under|younger than|under the age of|below the age of) (16|18)\b",
                          lambda m: f"{m[1]} 13")


def retention_sentence_removed(md: str, _rng: random.Random) -> str | None:
    """The first sentence (not a paragraph's first) keeping or storing data for a stated time, taken out."""
    return _replace_first(md, r"(?<=[.!?] )[A-Z][^.\n]*\b(?:retain|keep|store)\w*\b[^.\n]*\b\d+ (?:days|months|"
                              r"years)\b[^.\n]*\. ", lambda m: "")


def retention_period_doubled(md: str, _rng: random.Random) -> str | None:
    """The first length of time in a sentence about keeping or deleting data, doubled."""
    for line in re.finditer(r"[^\n]+", md):
        offset = line.start()
        for sentence in re.finditer(r"[^.]+\.?", line[0]):
            length = _LENGTH.search(sentence[0])
            if length and _KEEPING.search(sentence[0]):
                at = offset + sentence.start() + length.start()
                return md[:at] + f"{int(length[1]) * 2} {length[2]}" + md[at + len(length[0]):]
    return None


def sale_allowed(md: str, _rng: random.Random) -> str | None:
    """"We do not sell" → "We may sell"."""
    return _replace_first(md, r"\b([Ww]e) (?:do not|don't|will not|never) sell\b", lambda m: f"{m[1]} may sell")


def sharing_promise_dropped(md: str, _rng: random.Random) -> str | None:
    """"We do not share (or disclose) …" → "We share …"."""
    return _replace_first(md, r"\b([Ww]e) (?:do not|don't|will not|never) (share|disclose)\b",
                          lambda m: f"{m[1]} {m[2]}")


def retention_made_indefinite(md: str, _rng: random.Random) -> str | None:
    """"… for as long as necessary …" in a sentence about keeping data → "… indefinitely …"."""
    return _replace_first(md, r"\b(?:retain|keep|store)\w*\b[^.\n]{0,80}?\b(for (?:as long as|so long as)"
                              r"[^.,;\n]{0,60}?(?:necessary|needed|required))",
                          lambda m: m[0][:m.start(1) - m.start()] + "indefinitely")


def parental_consent_dropped(md: str, _rng: random.Random) -> str | None:
    """"… without (verifiable) parental consent" taken out of a sentence."""
    found = re.search(r",? without (?:verifiable |prior )?(?:parental|parent's|the consent of a parent)"
                      r"[^.,;\n]{0,40}", md)
    return None if not found else md[:found.start()] + md[found.end():]


_RECIPIENT_LIST = re.compile(
    r"\b(?:share|disclose|sell|transfer)\w*\b[^.\n]{0,80}? (?:with|to) (?:our |certain |third[- ]party )?"
    r"(?:[\w -]{2,40}, ){0,6}?[\w -]{2,40}(, (?:advertisers|advertising partners|data brokers|affiliates"
    r"|business partners|marketing partners|analytics providers|service providers|vendors|partners"
    r"|subsidiaries|law enforcement|government authorities|third parties))(?=[,;.]| and | or )")


def recipient_removed(md: str, _rng: random.Random) -> str | None:
    """One recipient taken out of the list of those a sentence shares or discloses data with (or to)."""
    for found in _RECIPIENT_LIST.finditer(md):
        line_start = md.rfind("\n", 0, found.start()) + 1
        if not md[line_start:].lstrip().startswith("#"):
            return md[:found.start(1)] + md[found.end(1):]
    return None


def _item_added_under(lead_in: str, item: str) -> Edit:
    """A list item added at the end of the first list whose lead-in sentence (ending in a colon) matches."""
    def item_added(md: str, _rng: random.Random) -> str | None:
        lines = md.split("\n")
        for i, line in enumerate(lines):
            announcing = re.split(r"(?<=[.!?]) ", line.strip())[-1]  # the lead-in's own sentence
            if announcing.endswith(":") and re.search(lead_in, announcing, re.IGNORECASE) \
                    and not line.startswith("#"):
                items = [j for j in range(i + 1, min(i + 4, len(lines))) if re.match(r"^ {0,3}[*-] +\S", lines[j])]
                if items:
                    end = items[0]
                    while end + 1 < len(lines) and re.match(r"^ {0,3}[*-] +\S", lines[end + 1]):
                        end += 1
                    marker = re.match(r"^ {0,3}[*-] +", lines[items[0]])[0]
                    return "\n".join(lines[:end + 1] + [marker + item] + lines[end + 1:])
        return None
    return item_added


def _sentence_added_under(heading: str, sentence: str) -> Edit:
    """`sentence` added as a paragraph right under the first heading matching `heading`."""
    def sentence_added(md: str, _rng: random.Random) -> str | None:
        found = re.search(rf"^#+ .*(?:{heading}).*$", md, re.MULTILINE | re.IGNORECASE)
        return None if not found else md[:found.end()] + f"\n\n{sentence}\n" + md[found.end():]
    return sentence_added


def recipient_item_added(md: str, _rng: random.Random) -> str | None:
    """"- Data brokers and credit reference agencies." added to the first list of a section whose heading
    (a Markdown heading or a bold line, "**5. Disclosures of your personal data**") says data is shared or
    disclosed, where no lead-in sentence announces the list: the heading does."""
    lines = md.split("\n")
    for i, line in enumerate(lines):
        title = line.strip().lstrip("#").strip().strip("*").strip()
        is_heading = line.startswith("#") or (line.strip().startswith("**") and line.strip().endswith("**"))
        if not (is_heading and re.search(r"\b(?:shar|disclos|recipient)", title, re.IGNORECASE)
                and re.search(r"\b(?:data|information)\b", title, re.IGNORECASE)):
            continue
        for j in range(i + 1, min(i + 40, len(lines))):
            if lines[j].startswith("#") or re.match(r"^\*\*.*\*\*$", lines[j].strip()):
                break                                  # the next heading: the section has no list of its own
            if re.match(r"^ {0,3}[*-] +\S", lines[j]):
                above = next((line for line in reversed(lines[i + 1:j]) if line.strip()), "")
                if above.rstrip().endswith(":") or re.match(r"^ {0,3}[*-] +[*-] ", lines[j]):
                    break                              # announced by a lead-in (another edit's case), or nested
                end = j
                while end + 1 < len(lines) and re.match(r"^ {0,3}[*-] +\S", lines[end + 1]):
                    end += 1
                marker = re.match(r"^ {0,3}[*-] +", lines[j])[0]
                return "\n".join(lines[:end + 1] + [marker + "Data brokers and credit reference agencies."]
                                 + lines[end + 1:])
    return None


def children_section_added(md: str, _rng: random.Random) -> str | None:
    """A children's section (an age limit and what happens to a child's data) added at the end, where the
    policy has none."""
    if re.search(r"^#+ .*(?:child|minor|kids|teen)", md, re.MULTILINE | re.IGNORECASE):
        return None
    return md.rstrip() + ("\n\n## Children\n\nOur services are not directed to children under 13. If we learn "
                          "that we have collected personal information from a child under 13, we will delete it.\n")


def recipient_added(md: str, _rng: random.Random) -> str | None:
    """"… share … with our service providers" → "… with our service providers and data brokers"."""
    for found in re.finditer(r"\b(?:share|disclose)(?: [\w ,]{0,60}?)? with (?:our |certain |third[- ]party )?"
                             r"(?:service providers|affiliates|partners|advertisers|third parties)\b", md):
        line = md[md.rfind("\n", 0, found.start()) + 1:md.find("\n", found.end()) % (len(md) + 1)]
        if not line.lstrip().startswith("#") and not line.rstrip().endswith("?"):  # a statement, not a title
            return md[:found.end()] + " and data brokers" + md[found.end():]
    return None


def _section_removed(title: str, stating: str) -> Edit:
    """The first section whose heading matches `title` and whose text states something of its topic
    (matches `stating`), not only points elsewhere ("See the COPPA section")."""
    def section_removed(md: str, _rng: random.Random) -> str | None:
        lines = md.split("\n")
        headings = [(i, len(line) - len(line.lstrip("#"))) for i, line in enumerate(lines) if re.match(r"^#+\s", line)]
        for k, (i, level) in enumerate(headings):
            body = lines[i + 1:next((j for j, lv in headings[k + 1:] if lv <= level), len(lines))]
            if re.search(title, lines[i], re.IGNORECASE) and re.search(stating, " ".join(body), re.IGNORECASE):
                return "\n".join(lines[:i] + lines[i + 1 + len(body):])
        return None
    return section_removed


_KEEPING_LEAD_IN = r"^(?!.*secur).*\b(?:retain|keep)\w*\b(?! in mind)"  # not "keep it secure", "keep in mind"
_KEEPS_FOR = r"\b(?:retain|keep|delete)\w* [^.]*(?:\d+ (?:day|month|year)|as long as)"

MATERIAL_EDITS: dict[str, tuple[Edit, str]] = {
    "age_limit_changed": (age_limit_changed, "minors"),
    "age_limit_lowered": (age_limit_lowered, "minors"),
    "retention_sentence_removed": (retention_sentence_removed, "retention"),
    "retention_period_doubled": (retention_period_doubled, "retention"),
    "sale_allowed": (sale_allowed, "sharing"),
    "recipient_added": (recipient_added, "sharing"),
    "recipient_item_added": (recipient_item_added, "sharing"),
    "sharing_promise_dropped": (sharing_promise_dropped, "sharing"),
    "recipient_removed": (recipient_removed, "sharing"),
    "retention_period_added": (_sentence_added_under(
        "retention|retain|how long|keep", "We keep your account information for 7 years after you close your account."),
        "retention"),
    "retention_purpose_listed": (_item_added_under(_KEEPING_LEAD_IN, "to train our artificial intelligence models;"),
                                 "retention"),
    "sharing_purpose_listed": (_item_added_under(r"\b(?:share|disclose)\w*\b",
                                                 "to data brokers, who may sell it to others;"), "sharing"),
    "children_section_added": (children_section_added, "minors"),
    "retention_made_indefinite": (retention_made_indefinite, "retention"),
    "parental_consent_dropped": (parental_consent_dropped, "minors"),
    "sale_sentence_added": (_sentence_added_under(
        "shar|disclos", "We may also sell your personal information to data brokers for their own marketing purposes."),
        "sharing"),
    "children_section_removed": (_section_removed(r"child|minor|kids", r"\b(?:1[3-8]|parent|guardian)"), "minors"),
    "retention_section_removed": (_section_removed(r"retention|how long|retain", _KEEPS_FOR), "retention"),
}


# ---------------------------------------------------------------------------------------------
# Running them


@dataclass(frozen=True)
class Outcome:
    service: str
    edit: str
    expected: str | None        # the topic a material edit is about; None for a form-only edit
    verdict: str                # "same" (no text change after normalizing), "quiet", "alert" or, for a
                                # material edit, "found" (alerted with its topic) or "missed"
    alerts: tuple[str, ...]     # "topics: summary" of each change that would alert


def edited_outcomes(service: str, form: bool = True, material: bool = True,
                    only: str | None = None) -> list[Outcome]:
    """Each edit of one policy (or the one named `only`), as `check` would judge the edited page after
    the recorded one."""
    from monitor.capture.document import document_text
    from monitor.meaning.significance import changes_between
    from tests.replay import dress

    edits: list[tuple[str, Edit, str | None]] = \
        ([(name, edit, None) for name, edit in FORM_EDITS.items()] if form else []) + \
        ([(name, edit, topic) for name, (edit, topic) in MATERIAL_EDITS.items()] if material else [])
    md = policies()[service]
    before = document_text(dress(md, 1).encode(), content_type="text/html; charset=utf-8")
    outcomes = []
    for name, edit, topic in edits:
        seed = random.Random(f"{service}:{name}")
        edited = None if only not in (None, name) else \
            edit(md, seed, service) if edit is company_renamed else edit(md, seed)
        if edited is None or edited == md:
            continue
        after = document_text(dress(edited, 2).encode(), content_type="text/html; charset=utf-8")
        if after == before:
            outcomes.append(Outcome(service, name, topic, "same", ()))
            continue
        rated = [r for r in changes_between(before, after, WATCHED, "en") if r.alert_topics(WATCHED)]
        alerts = tuple(f"{','.join(r.alert_topics(WATCHED))}: {r.summary}" for r in rated)
        if topic is None:
            verdict = "alert" if alerts else "quiet"
        else:
            verdict = "found" if any(topic in r.alert_topics(WATCHED) for r in rated) else "missed"
        outcomes.append(Outcome(service, name, topic, verdict, alerts))
    return outcomes
