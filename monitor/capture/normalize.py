"""HTML (or plain text / Markdown) → clean, stable, Markdown-like policy text.

The output ("normalized text", read by `monitor.text.sections` and shown by `policy-monitor show`):

- Blocks are separated by exactly one blank line; no leading or trailing blank line, no trailing
  newline; an input without text gives "".
- Heading: `#` × level, a space, the text (`<h2>` → `## …`; also `role="heading" aria-level="N"`).
- Bold-only block: a non-list block whose visible text is all bold (`<b>`, `<strong>`, or an inline
  `font-weight` of bold/600+), at most 120 characters and not ending with `.`, `,` or `;`, is its own
  line written `**text**` (e.g. `<div class="title"><b>3. Sharing</b></div>` → `**3. Sharing**`).
  Its level is left to the reader: no `#` is invented. Bold inside a sentence is dropped silently.
- Paragraph: one line. Inline elements (a, span, em, b, …) never break it; `<br>` does, unless the
  text after it continues a sentence (starts lowercase after no final punctuation).
- List item: two spaces × nesting depth, `- `, the text; the items of a list (nested ones included)
  are consecutive lines with no blank line between them. Ordered lists use `- ` too: a number the
  page writes in the text stays, a number drawn by the browser is not invented. A further block
  inside the same `<li>` is a line indented two spaces deeper than its `- `, without a dash. A
  paragraph starting with a bullet glyph or a dash (`•`, `·`, `–`, `- `…) is a list item too.
- Table: one line per row, cells joined by ` | `, rows of one table consecutive lines; blocks inside
  a cell are joined with `; `. Tables used for layout (one column, or a cell holding headings,
  tables, three or more blocks or 1000+ characters) are read as ordinary blocks.
- Whitespace (nbsp, zero-width characters, soft hyphens included) is collapsed, so re-wrapped HTML
  gives byte-identical output; a space before `, . ; : ! ? )` or after `(` is removed.
- Folded so typographic variants never become versions: Unicode NFKC (ligatures, full-width forms,
  `…` → `...`); curly single/double quotes → `'`/`"`; hyphen, non-breaking hyphen, figure/en dash,
  minus → `-`; em dash, horizontal bar and `--`/`---` between words → ` - ` (a spaced dash, so
  `a—b`, `a — b` and `a -- b` agree, while ranges like `13–16` stay `13-16`); Cloudflare-obfuscated
  e-mails decoded from `data-cfemail`/`/cdn-cgi/l/email-protection#…`, else `[email protected]` and
  fragments like `privac[email protected]` → `[email]`; entities leaking as text (`&quot;`,
  `&amp;quot;`) decoded and raw tag fragments (`</p>` shown as text) removed.

Dropped (rules in `monitor.capture.page_chrome`): script, style, noscript, template, svg, iframe and other
embeds, images, nav, aside, inputs, forms (unless one wraps the page's content), buttons (except
accordion triggers and buttons inside headings), dialogs (`<dialog>`, role dialog/alertdialog),
page-level header/footer (those inside main, an article or a section are kept), roles
banner/navigation/contentinfo/complementary/search, hidden elements (`hidden`, `aria-hidden="true"`,
inline `display:none`/`visibility:hidden`, screen-reader-only classes) except panels a reader can
reveal (accordion/collapse/tab panels, targets of `aria-controls`, `hidden="until-found"`),
cookie/consent banners (CMP vendor ids and classes, `cookie`/`consent`/`gdpr` joined to banner
words), short injected notices (role alert/status, or banner/notice/announcement/alert classes
before the policy's first paragraph), skip and "back to top" links, short copyright lines
(`© 2025 …`), social share widgets; never text: link targets, image sources, any attribute.

Main content: every element matching `select`, in document order; else the first `main`, then
`[role=main]`, then the top-level `article`s, each only if it holds at least a fifth of the page's
text outside page-level nav/header/footer/aside; else the body. `remove` selectors are dropped
before anything else. `select`/`remove` apply to HTML and to the HTML rendering of Markdown; a
text/plain body has no elements to select.

Markdown (`text/markdown`, or any body opening with a `---` YAML front matter) is rendered with
markdown-it and then normalized as HTML; front matter and Liquid `{% … %}` tags are dropped.
Plain text: paragraphs are re-flowed (lines joined) and separated by blank lines; a line starting a
list item or a number (`1.`, `2.3`, `(a)`) starts a new block, as does the line after a short line
(less than half the paragraph's longest line) when it starts with a capital or digit.
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from lxml import etree
from markdown_it import MarkdownIt

from monitor.capture.body_kind import FRONT_MATTER as _FRONT_MATTER
from monitor.capture.body_kind import NORMALIZER_VERSION as NORMALIZER_VERSION  # re-exported: its old home
from monitor.capture.body_kind import content_kind
from monitor.capture.css import css_to_xpath
from monitor.capture.html_tree import parse_html
from monitor.capture.page_chrome import (
    BOLD_STYLE,
    HEADING_TAGS,
    PageFacts,
    Tag,
    attr_text,
    cloudflare_email,
    has_descendant,
    is_dropped,
    is_hidden,
    text_length,
)
from monitor.errors import SelectorMatchedNothing

# ---------------------------------------------------------------------------------------------
# Text folding (applies to every block's text)

_QUOTES_AND_DASHES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2035": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2036": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-", "\ufe63": "-",
    "\u2014": " - ", "\u2015": " - ", "\ufe58": " - ",
    "\u00ad": None, "\u200b": None, "\u200e": None, "\u200f": None, "\u2060": None, "\ufeff": None,
})
# The same folding as one search, and a replacement per character found: `str.translate` with a dict looks every
# character of the text up in the dict (NFKC and translate took 3.4x as long over the corpus's non-ASCII lines)
_FOLDED_CHAR = re.compile("[" + "".join(re.escape(chr(c)) for c in _QUOTES_AND_DASHES) + "]")


def _folded_char(match: re.Match[str]) -> str:
    return _QUOTES_AND_DASHES[ord(match.group())] or ""


_LEAKED_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_LEAKED_TAG = re.compile(
    r"</?(?:p|br|div|span|a|b|i|u|s|em|strong|small|big|font|li|ul|ol|dl|dt|dd|h[1-6]|table|tbody|thead|"
    r"tr|td|th|sup|sub|section|article|img|hr|blockquote|center|label|code|pre|mark|del|ins|nav|header|"
    r"footer)\b[^<>]{0,300}?/?>", re.I)
_OBFUSCATED_EMAIL = re.compile(r"[\w.+-]*\[email\s*(?:&#160;|&nbsp;)?\s*protected\][\w.-]*", re.I)
_ASCII_EM_DASH = re.compile(r"(?<=\S) *-{2,3} *(?=\S)")
_CJK_CHARS = "\u2e80-\u2fff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK_CHARS}]) (?=[{_CJK_CHARS}])")
_BULLET_PARAGRAPH = re.compile(r"^(?:[•·▪‣◦●○■□►▸*]|-(?=\s))\s*(?=\S)")


def fold_text(text: str) -> str:
    """Fold one block's text: leaked entities/tags, NFKC, quotes, dashes, e-mails, whitespace."""
    for _ in range(2):  # `&amp;quot;` in the source is `&quot;` after parsing: decode what leaked
        if "&" not in text or not _LEAKED_ENTITY.search(text):
            break
        text = htmllib.unescape(text)
    if "<" in text:
        text = _LEAKED_TAG.sub(" ", text)
    is_ascii = text.isascii()  # most text: NFKC, the folding table and CJK cannot change it (checks are O(n) in C)
    if not is_ascii:
        text = unicodedata.normalize("NFKC", text)
        if _FOLDED_CHAR.search(text):
            text = _FOLDED_CHAR.sub(_folded_char, text)
    if "protected]" in text:
        text = _OBFUSCATED_EMAIL.sub("[email]", text)
    if "--" in text:
        text = _ASCII_EM_DASH.sub(" - ", text)
    text = " ".join(text.split())
    if not is_ascii and _CJK.search(text):  # a line break between CJK characters is not a space (CSS segment breaks)
        text = _SPACE_BETWEEN_CJK.sub("", text)
    # A space before `, . ; : ! ? ) ]` or after `( [` goes. The only whitespace left is single spaces between
    # non-space characters, so whether one goes never depends on another: plain replacing (a regex is ~4x slower).
    # Most blocks have none: for ASCII text two searches of the bytes with those characters marked say so (ten
    # searches of the text took ~40% of this function)
    if is_ascii:
        marked = text.encode("ascii").translate(_MARK_PUNCTUATION)
        if b" \x01" not in marked and b"\x02 " not in marked:
            return text
    for spaced, punct in _SPACED_PUNCTUATION:
        if spaced in text:
            text = text.replace(spaced, punct)
    return text


_SPACED_PUNCTUATION = (*((" " + punct, punct) for punct in ",.;:!?)]"), *((punct + " ", punct) for punct in "(["))
# (a \x01 or \x02 of the text itself only costs the searches)
_MARK_PUNCTUATION = bytes.maketrans(b",.;:!?)]([", b"\x01" * 8 + b"\x02" * 2)


# ---------------------------------------------------------------------------------------------
# Walking the tree into blocks


@dataclass
class _Block:
    kind: str  # "heading" | "para" | "bold" | "item" | "cont" | "row"
    text: str
    level: int = 0  # heading level, or list depth for items/continuations
    group: int = 0  # rows of one table share a group (printed as consecutive lines)


_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "center", "dd", "details", "dir", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
    "html", "legend", "main", "p", "pre", "section", "summary", "caption", "search", "button",
    "tbody", "thead", "tfoot", "tr", "td", "th",
})
_LAYOUT_BLOCKS = ("p", "div", "ul", "ol", "blockquote")
_COPYRIGHT_LINE = re.compile(r"^(?:copyright\b|©|\(c\) ?\d{4})", re.I)
_BR = "\x00"  # marks a <br> in the inline buffer
_SENTENCE_END = re.compile(r"[.:;!?]\s*$")


class _Walker:
    def __init__(self, ctx: PageFacts):
        self.ctx = ctx
        self.blocks: list[_Block] = []
        self.buffer: list[tuple[str, bool]] = []  # (text, is_bold)
        self.items: list[list[int]] = []  # open <li>s: [depth, blocks emitted so far]
        self.tables = 0

    # -- output
    def emit(self, kind: str, text: str, level: int = 0, group: int = 0) -> None:
        """Add a block of folded `text`; inside an <li> a paragraph becomes its item or continuation."""
        if not text:
            return
        if self.items and kind in ("para", "bold"):
            depth, emitted = self.items[-1]
            kind, level = ("cont" if emitted else "item"), depth
            self.items[-1][1] += 1
            if kind == "item":  # `<li>• text</li>`: the page typed the bullet the list already draws
                text = _BULLET_PARAGRAPH.sub("", text)
        elif kind == "para" and _BULLET_PARAGRAPH.match(text):
            kind, text = "item", _BULLET_PARAGRAPH.sub("", text)
        elif kind == "bold":
            text = f"**{text}**"
        if kind in ("para", "bold") and len(text) < 200 and _COPYRIGHT_LINE.match(text.strip("*")):
            return  # "© 2025 Example Inc." lines are page chrome, and their year changes
        if kind != "heading":
            self.ctx.policy_started = True
        self.blocks.append(_Block(kind, text, level, group))

    def flush(self) -> None:
        if not self.buffer:
            return
        buffer, self.buffer = self.buffer, []
        whole = "".join([t for t, _ in buffer])
        if _BR not in whole:  # one segment (most blocks): the general case below, without its lists
            if whole.strip():
                self.emit_segment(whole, buffer)
            return
        segments: list[list[tuple[str, bool]]] = [[]]
        for text, bold in buffer:
            if text == _BR:
                segments.append([])
            else:
                segments[-1].append((text, bold))
        merged: list[list[tuple[str, bool]]] = []
        for segment in segments:
            joined = "".join(t for t, _ in segment).strip()
            if not joined:
                continue
            previous = "".join(t for t, _ in merged[-1]) if merged else ""
            if merged and joined[0].islower() and not _SENTENCE_END.search(previous):
                merged[-1].extend([(" ", False), *segment])  # a <br> inside a sentence
            else:
                merged.append(segment)
        for segment in merged:
            self.emit_segment("".join(t for t, _ in segment), segment)

    def emit_segment(self, text: str, segment: list[tuple[str, bool]]) -> None:
        text = fold_text(text)
        # (whether all of it is bold is asked last: most blocks are longer or end a sentence)
        if len(text) <= 120 and not text.endswith((".", ",", ";")) and all(bold for t, bold in segment if t.strip()):
            self.emit("bold", text)
        else:
            self.emit("para", text)

    # -- traversal (iterative: real pages nest thousands of unclosed <font>/<div> deep)
    def walk(self, root: Tag) -> None:
        self.walk_nodes(_flow(root))

    def walk_nodes(self, nodes: Iterator[Tag | str]) -> None:
        """Walk a sequence of elements and texts (a tail text belongs to the flow of its element's parent)."""
        stack: list[tuple[Iterator[Tag | str], int, bool, Callable[[], None] | None]] = [(nodes, 0, False, None)]
        while stack:
            children, list_depth, bold, on_exit = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if on_exit is not None:
                    on_exit()
            elif isinstance(child, str):
                self.buffer.append((child, bold))
            elif not is_dropped(child, self.ctx):
                descend = self.enter(child, list_depth, bold)
                if descend is not None:
                    stack.append((_flow(child), *descend))

    def enter(self, tag: Tag, list_depth: int, bold: bool) -> tuple[int, bool, Callable[[], None] | None] | None:
        """Handle the start of `tag`; return how to walk its children (None: already handled)."""
        name = tag.tag
        attributes = bool(tag.attrib)  # most elements have none: no attribute to read below
        email = cloudflare_email(tag) if attributes and (name == "a" or tag.get("data-cfemail") is not None) else None
        if email is not None:
            self.buffer.append((email, bold))
            return None
        level = _heading_level(tag) if attributes or name in HEADING_TAGS else 0
        if level:
            self.flush()
            text = fold_text(self.inline_text(tag, " "))
            if text:
                self.emit("heading", "#" * level + " " + text, level)
            return None
        if name == "br":
            self.buffer.append((_BR, bold))
            return None
        if name == "table" and self.render_table(tag):
            return None
        if name in ("ul", "ol", "menu", "dir"):
            self.flush()
            return list_depth + 1, bold, self.flush
        if name == "li":
            self.flush()
            self.items.append([max(list_depth - 1, 0), 0])
            return list_depth, bold, self.end_item
        if name in _BLOCK_TAGS or "-" in name:  # custom elements are styled as blocks in practice
            self.flush()
            return list_depth, bold, self.flush
        is_bold = bold or name in ("b", "strong") or (attributes and bool(BOLD_STYLE.search(attr_text(tag, "style"))))
        return list_depth, is_bold, None

    def end_item(self) -> None:
        self.flush()
        self.items.pop()

    def inline_text(self, tag: Tag, separator: str = "; ") -> str:
        """All visible text of `tag` on one line (headings, table cells); `separator` joins its blocks
        where no punctuation does."""
        inner = _Walker(self.ctx)
        started = self.ctx.policy_started
        inner.walk(tag)
        inner.flush()
        self.ctx.policy_started = started
        parts: list[str] = []
        for block in inner.blocks:
            text = block.text.lstrip("#").strip() if block.kind == "heading" else block.text
            text = text[2:-2] if block.kind == "bold" else text
            if parts and not _SENTENCE_END.search(parts[-1]) and not parts[-1].endswith(","):
                parts[-1] += separator.rstrip()
            parts.append(text)
        return " ".join(parts)

    def render_table(self, table: Tag) -> bool:
        """Render a data table as ` | `-joined rows; False for a layout table (walk it instead)."""
        rows = [tr for tr in table.iterdescendants("tr") if next(tr.iterancestors("table")) is table]
        cells_per_row = [[c for c in tr if c.tag == "td" or c.tag == "th"] for tr in rows]
        if (not any(len(cells) > 1 for cells in cells_per_row)
                or has_descendant(table, "table", *HEADING_TAGS)
                or any(sum(1 for _ in islice(c.iterdescendants(_LAYOUT_BLOCKS), 3)) >= 3 or text_length(c) > 1000
                       for cells in cells_per_row for c in cells)):
            return False  # a layout table: one column, or holding headings, tables or whole texts
        self.flush()
        self.tables += 1
        caption = next(table.iterdescendants("caption"), None)
        if caption is not None and not is_dropped(caption, self.ctx):
            self.emit("para", fold_text(self.inline_text(caption)))
        for cells in cells_per_row:
            texts = [fold_text(self.inline_text(c)) for c in cells if not is_dropped(c, self.ctx)]
            while texts and not texts[-1]:
                texts.pop()
            if texts:
                self.emit("row", " | ".join(texts), group=self.tables)
        return True


def _flow(tag: Tag) -> Iterator[Tag | str]:
    """The children of `tag` in document order: its text, then each child element followed by its tail.
    Comments and processing instructions are skipped; their tails are text like any other. (Each text is read
    once: lxml builds a new string at every read.)"""
    text = tag.text
    if text:
        yield text
    for child in tag:
        if isinstance(child.tag, str):
            yield child
        tail = child.tail
        if tail:
            yield tail


def _heading_level(tag: Tag) -> int:
    if tag.tag in HEADING_TAGS:
        return int(tag.tag[1])
    if attr_text(tag, "role").lower() == "heading":
        level = attr_text(tag, "aria-level")
        return int(level) if level.isdigit() and 1 <= int(level) <= 6 else 2
    return 0


def _render(blocks: list[_Block]) -> str:
    out: list[str] = []
    previous: _Block | None = None
    for block in blocks:
        if block.kind in ("item", "cont"):
            line = "  " * block.level + ("- " if block.kind == "item" else "  ") + block.text
        else:
            line = block.text
        tight = previous is not None and (
            (block.kind in ("item", "cont") and previous.kind in ("item", "cont"))
            or (block.kind == "row" and previous.kind == "row" and block.group == previous.group))
        if out:
            out.append("\n" if tight else "\n\n")
        out.append(line)
        previous = block
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Choosing the content


def _roots(document: list[Tag], select: str | None, ctx: PageFacts) -> Iterator[Tag | None]:
    """The content roots, in document order; None stands for the whole document."""
    if select:
        matches = [m for top in document for m in _css(select)(top)]
        if not matches:
            raise SelectorMatchedNothing(f"select {select!r} matched no element of the page")
        # A match inside another match would be rendered twice.
        matched = set(matches)
        yield from (m for m in matches if not any(p in matched for p in m.iterancestors()))
        return
    body = next((b for top in document for b in top.iter("body")), None)
    # The page's text without its page-level chrome: a mega-footer must not outweigh the policy.
    page_length = (text_length(body) if body is not None else sum(text_length(top) for top in document)) \
        - sum(text_length(tag) for tag in ctx.page_chrome)
    for candidates in (ctx.mains, ctx.role_mains, ctx.articles):
        visible = [c for c in candidates if not is_hidden(c, ctx)]
        chosen = [c for c in visible if text_length(c) * 5 >= page_length]
        if chosen:
            yield from (chosen if candidates and candidates[0].tag == "article" else chosen[:1])
            return
    ctx.whole_body = True
    yield body


def _normalize_html(body: str, select: str | None, remove: Sequence[str]) -> str:
    document = parse_html(body)
    for selector in remove:
        for tag in [m for top in document for m in _css(selector)(top)]:
            if tag in document:
                document.remove(tag)
            else:
                _drop(tag)
    ctx = PageFacts(document)
    walker = _Walker(ctx)
    for root in _roots(document, select, ctx):
        ctx.policy_started = False
        if root is None:
            walker.walk_nodes(iter(document))
        else:
            walker.walk(root)
        walker.flush()
    return _render(walker.blocks)


def _drop(tag: Tag) -> None:
    """Take `tag` out of the tree; an empty comment in its place keeps its tail text where it was."""
    parent = tag.getparent()
    if parent is None:
        return
    placeholder = etree.Comment()
    placeholder.tail = tag.tail
    parent.replace(tag, placeholder)


@lru_cache(maxsize=256)
def _css(selector: str) -> Callable[[Tag], list[Tag]]:
    """A `select`/`remove` selector compiled, for the elements it matches in a tree (the element included)."""
    return etree.XPath(css_to_xpath(selector))


# ---------------------------------------------------------------------------------------------
# Markdown and plain text


_LIQUID_TAG = re.compile(r"\{%.*?%\}|\{:[^}\n]*\}", re.S)  # Liquid tags, kramdown attribute lists
_LIST_START = re.compile(r"^\s*(?:[-*•·▪‣◦●–—]\s+|\(?(?:\d{1,3}(?:\.\d{1,3})*[.)]|\d{1,3}\.\d{1,3}|[a-zA-Z][.)]"
                         r"|[ivxIVX]{1,4}[.)])\s*\S|\([a-zA-Z0-9]{1,3}\)\s*\S)")
_RULE_LINE = re.compile(r"^[-=_*~#.\s]{3,}$")  # "=====" under a title, "* * *" between parts
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")


def _normalize_plain(body: str) -> str:
    blocks: list[tuple[int, str]] = []  # (indentation, text)
    for paragraph in re.split(r"\n\s*\n", body.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line.expandtabs(4).rstrip() for line in paragraph.split("\n")
                 if line.strip() and not _RULE_LINE.match(line.strip())]
        if not lines:
            continue
        longest = max(len(line.strip()) for line in lines)
        indent, current = 0, []
        for line in lines:
            stripped = line.strip()
            after_short = bool(current) and len(current[-1]) * 2 < longest \
                and (stripped[0].isupper() or stripped[0].isdigit())
            if current and (_LIST_START.match(line) or after_short):
                blocks.append((indent, " ".join(current)))
                current = []
            if not current:
                indent = len(line) - len(line.lstrip())
            current.append(stripped)
        blocks.append((indent, " ".join(current)))
    walker = _Walker(PageFacts())
    for indent, text in blocks:
        count = len(walker.blocks)
        walker.emit("para", fold_text(text))
        if len(walker.blocks) > count and walker.blocks[-1].kind == "item":
            walker.blocks[-1].level = indent // 2
    return _render(walker.blocks)


def normalize(body: str, *, content_type: str = "text/html", select: str | None = None,
              remove: Sequence[str] = ()) -> str:
    """Return the normalized text of a page (format and rules: see the module docstring).

    Deterministic and pure. Raises SelectorMatchedNothing when `select` matches no element.

    >>> normalize("<main><h2>Sharing</h2><p>We do <b>not</b> sell data.</p></main>")
    '## Sharing\\n\\nWe do not sell data.'
    """
    if not body or body.isspace():  # (not body.strip(): the same, without copying the page)
        return ""  # the guard rejects empty pages with a clearer reason than "select matched nothing"
    kind = content_kind(body, content_type)
    if kind == "markdown":
        source = _LIQUID_TAG.sub("", _FRONT_MATTER.sub("", body.lstrip("\n"), count=1))
        return _normalize_html(_MARKDOWN.render(source), select, remove)
    if kind == "plain":
        if select:
            raise SelectorMatchedNothing(f"select {select!r} cannot match a plain-text page")
        return _normalize_plain(body)
    return _normalize_html(body, select, remove)
