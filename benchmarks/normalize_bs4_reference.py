"""The BeautifulSoup normalizer as it was at NORMALIZER_VERSION 1: the reference `bench_normalize.py --compare`
checks the lxml port (monitor.capture.normalize) against, byte for byte. Frozen: never edit to follow a rule change."""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData, Comment, Declaration, Doctype, ProcessingInstruction
from markdown_it import MarkdownIt

from monitor.capture.body_kind import FRONT_MATTER as _FRONT_MATTER
from monitor.capture.body_kind import NORMALIZER_VERSION as NORMALIZER_VERSION  # re-exported: its old home
from monitor.capture.body_kind import content_kind
from monitor.errors import SelectorMatchedNothing

# ---------------------------------------------------------------------------------------------
# Drop rules (was monitor.capture.page_chrome)

_DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "frame", "frameset", "object",
    "embed", "canvas", "video", "audio", "map", "img", "picture", "source", "track", "head", "title",
    "meta", "link", "nav", "aside", "input", "select", "option", "optgroup", "textarea", "datalist",
    "output", "progress", "meter", "dialog", "base",
})
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog",
                         "alertdialog", "toolbar", "menubar", "tablist", "tooltip"})
# Tags whose name alone brings a rule below into play; any other tag without attributes is never dropped
# (every other rule reads an attribute: role, hidden, style, id, class, href, aria-*), and most tags have none.
_RULED_BY_NAME = frozenset({"header", "footer", "form", "button"})
_NOTICE_ROLES = frozenset({"alert", "status", "marquee", "log", "timer"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)", re.I)
_SCREEN_READER_ONLY = re.compile(
    r"(?:^|\s)(?:sr-only|visually-hidden|visuallyhidden|screen-reader-text|screen-reader-only|"
    r"screenreader|a11y-hidden|element-invisible|assistive-text|offscreen)(?:\s|$)", re.I)
_REVEALABLE = re.compile(r"accordion|collaps|tab-?pane|tab-?panel|tab-?content|expand|read-?more|more-?content|"
                         r"disclosure", re.I)
_NEVER_REVEALED = re.compile(r"cookie|consent|gdpr|modal|popup|dialog|overlay|tooltip", re.I)
# Consent-management vendors' names, at the start of a name or after `-`/`_` (never inside a word:
# an anchor id like "3-entrusted-processing" is not TrustArc).
_CMP_VENDOR = re.compile(
    r"(?:^|[\s_-])(?:onetrust|optanon|ot-sdk|didomi|cookiebot|cybotcookiebot|truste|trustarc|usercentrics|"
    r"quantcast|qc-cmp|osano|iubenda|cookieyes|cky-consent|termly|complianz|cmplz|borlabs|sp_message|"
    r"sp-message|cmpbox|cmpwrapper|cmp-banner|cmp-consent|klaro|tarteaucitron|axeptio|consentmanager|"
    r"cookie-law-info|cookielawinfo|moove_gdpr|cc-window|cc-banner|cookieconsent|evidon|fides-|"
    r"truendo|civiccookie|ccc-notify|cookie-script|cookiefirst|cookiehub|cookieinformation|"
    r"coi-banner|shopify-pc__banner|consent_blackbar|fc-consent-root|sliding-popup)", re.I)
_CONSENT_WORD = re.compile(r"cookies?|consent|gdpr|ccpa", re.I)
_BANNER_WORD = re.compile(r"banner|bar|notice|notification|popup|pop-up|modal|dialog|overlay|prompt|alert|"
                          r"wall|message|msg|layer|window|consent|accept|sdk|widget|disclaimer|compliance",
                          re.I)
_NOTICE_TOKEN = re.compile(
    r"^(?:[a-z0-9]+[-_])*(?:banner|notice|notices|announcement|announcements|announce|alert|alerts|"
    r"toast|snackbar|notification|notifications|promo|ribbon|infobar|sitewide|interstitial)"
    r"(?:[-_][a-z0-9]+)*$", re.I)
_NOT_A_NOTICE = re.compile(r"privacy|legal|policy|collection|hero|page-?title|content", re.I)
# In-page links that are chrome: skip links, "back to top", heading permalinks (`#`, `¶`, `🔗`).
_SKIP_LINK_TEXT = re.compile(
    r"^(?:skip|jump)\b.{0,40}$|^(?:(?:back|return|scroll|go) to (?:the )?)?top\b\W*$|^[^\w]{0,3}$", re.I)
# Without main/article, page chrome is only recognisable by its class or id (guarded by size).
_BOILERPLATE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:[a-z]*nav|navbar|navigation|[a-z]*menu|breadcrumbs?|sidebar|masthead|topbar|social|"
    r"related|newsletter|subscribe|pagination)(?:$|[\s_-])", re.I)
_PAGE_FRAME_CLASS = re.compile(
    r"(?:^|\s)(?:(?:site|page|global|main|top|bottom)[-_]?)?(?:header|footer)(?:[-_][a-z]+)?(?:$|\s)|copyright", re.I)
_CONTAINER_TAGS = frozenset({"div", "section", "ul", "ol", "table", "td", "header", "footer", "center"})
_SHARE_WIDGET = re.compile(r"(?:^|[\s_-])(?:share|sharing|social|sharedaddy|addtoany|a2a_kit|sharethis|"
                           r"share-?buttons|social-?links)(?:$|[\s_-])", re.I)
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def attr_text(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else str(value)


def _id_class(tag: Tag) -> str:
    return f"{attr_text(tag, 'id')} {attr_text(tag, 'class')}".strip()


_INVISIBLE_PARENTS = frozenset({"script", "style", "noscript", "template", "head", "title"})


def text_length(tag: Tag) -> int:
    """Characters of visible text (scripts' JSON and styles do not count), whitespace excluded."""
    return sum(len("".join(node.split())) for node in tag.descendants
               if type(node) is NavigableString and node.parent.name not in _INVISIBLE_PARENTS)


def heading_count(tag: Tag) -> int:
    return sum(1 for node in tag.descendants if isinstance(node, Tag) and node.name in HEADING_TAGS)


_PAGE_CHROME_TAGS = ("nav", "header", "footer", "aside")
_CONTENT_TAGS = ("main", "article", "section")


class PageFacts:
    """Per-document facts the drop rules need."""

    def __init__(self, soup: BeautifulSoup | None = None):
        self.controlled_ids: set[str] = set()
        self.mains: list[Tag] = []  # candidates for the main content, in document order
        self.role_mains: list[Tag] = []
        self.articles: list[Tag] = []  # top-level ones only
        self.page_chrome: list[Tag] = []  # page-level nav/header/footer/aside (not inside content)
        for tag in soup.descendants if soup is not None else ():  # one pass: find_all is slow
            if not isinstance(tag, Tag):
                continue
            if tag.has_attr("aria-controls"):
                self.controlled_ids.update(attr_text(tag, "aria-controls").split())
            if tag.name == "main":
                self.mains.append(tag)
            elif tag.name == "article" and tag.find_parent("article") is None:
                self.articles.append(tag)
            if tag.name in _PAGE_CHROME_TAGS and tag.find_parent(_PAGE_CHROME_TAGS + _CONTENT_TAGS) is None:
                self.page_chrome.append(tag)
            if attr_text(tag, "role").lower() == "main":
                self.role_mains.append(tag)
        self.policy_started = False  # a paragraph/list/table was emitted: notices now are content
        self.whole_body = False  # no main content element: guess boilerplate from class names too


def is_hidden(tag: Tag, ctx: PageFacts) -> bool:
    hidden = (tag.has_attr("hidden") and attr_text(tag, "hidden").lower() != "until-found") \
        or attr_text(tag, "aria-hidden").lower() == "true" \
        or bool(_HIDDEN_STYLE.search(attr_text(tag, "style")))
    if not hidden:
        return False
    # Collapsed accordion/tab panels hold policy text the reader can reveal: keep them.
    names = _id_class(tag)
    revealable = (attr_text(tag, "id") in ctx.controlled_ids
                  or attr_text(tag, "role").lower() in ("tabpanel", "region")
                  or bool(_REVEALABLE.search(attr_text(tag, "class"))))
    return not revealable or bool(_NEVER_REVEALED.search(names))


def _in_content(tag: Tag) -> bool:
    """A header/footer inside main/article/section belongs to the content (title, dates)."""
    return tag.find_parent(_CONTENT_TAGS) is not None


def _consent_and_banner_word(token: str) -> bool:
    """`cookie-banner`, `eu-cookie-compliance`, "Cookie consent": two different words, one of each kind."""
    consent = [m.span() for m in _CONSENT_WORD.finditer(token)]
    if not consent:
        return False
    banner = [m.span() for m in _BANNER_WORD.finditer(token)]
    return any(b_end <= c_start or b_start >= c_end for c_start, c_end in consent for b_start, b_end in banner)


def _is_consent_banner(tag: Tag, names: str) -> bool:
    names = f"{names} {attr_text(tag, 'aria-label')}".strip()
    if not names:
        return False
    if _CMP_VENDOR.search(names):
        return True
    if not any(_consent_and_banner_word(token) for token in names.split() + [attr_text(tag, "aria-label")]):
        return False
    # A policy's own "Cookie notice" section has a heading and real text: keep it.
    length = text_length(tag)
    return length < 3000 and (heading_count(tag) == 0 or length < 800)


def _is_notice(tag: Tag, names: str, role: str, ctx: PageFacts) -> bool:
    if role in _NOTICE_ROLES:
        pass
    elif ctx.policy_started or not any(_NOTICE_TOKEN.match(t) and not _NOT_A_NOTICE.search(t)
                                       for t in names.split()):
        return False
    return text_length(tag) <= 400 and not tag.find(("h1", "h2", "h3"))


def is_dropped(tag: Tag, ctx: PageFacts) -> bool:
    """Whether `tag` (a descendant of a content root) is page chrome, hidden, or a banner."""
    name = tag.name
    if name in _DROP_TAGS:
        return True
    if not tag.attrs and name not in _RULED_BY_NAME:
        return False
    role = attr_text(tag, "role").lower()
    if role in _DROP_ROLES:
        return True
    if name in ("header", "footer"):
        return not _in_content(tag)
    if name == "form":  # ASP.NET pages wrap everything in one <form>: keep a form holding content
        return not (heading_count(tag) or tag.find("table") or len(tag.find_all("p", limit=3)) >= 3
                    or text_length(tag) >= 1500)
    if name == "button":
        return not (tag.has_attr("aria-controls") or tag.has_attr("aria-expanded")
                    or tag.find_parent(HEADING_TAGS) is not None)
    if name == "a" and attr_text(tag, "href").startswith("#") \
            and _SKIP_LINK_TEXT.match(" ".join(tag.get_text(" ").split())):
        return True
    if tag.has_attr("data-cfemail"):
        return False  # replaced by its decoded address, see cloudflare_email
    if is_hidden(tag, ctx):
        return True
    names = _id_class(tag)
    if names and _SCREEN_READER_ONLY.search(attr_text(tag, "class")):
        return True
    if name in HEADING_TAGS:
        return False  # rules guessing from names never drop a heading (its id is the section's anchor)
    if _is_consent_banner(tag, names) or _is_notice(tag, names, role, ctx):
        return True
    # Share widgets are named by class; an id like "sharing" is a policy section's anchor.
    if _SHARE_WIDGET.search(attr_text(tag, "class")) and text_length(tag) < 300 \
            and (heading_count(tag) == 0 or text_length(tag) < 100):
        return True
    if not (ctx.whole_body and names and name in _CONTAINER_TAGS):
        return False
    if _PAGE_FRAME_CLASS.search(names):  # footers have column headings, but never an h1/h2
        return tag.find(("h1", "h2")) is None and text_length(tag) < 5000
    return bool(_BOILERPLATE_CLASS.search(names)) and heading_count(tag) == 0 and text_length(tag) < 1000


def cloudflare_email(tag: Tag) -> str | None:
    """Decode Cloudflare's e-mail obfuscation (`data-cfemail` or an email-protection link)."""
    encoded = attr_text(tag, "data-cfemail")
    if not encoded and tag.name == "a" and "/cdn-cgi/l/email-protection#" in attr_text(tag, "href"):
        encoded = attr_text(tag, "href").rsplit("#", 1)[1]
    if not encoded:
        return None
    try:
        data = bytes.fromhex(encoded)
        return bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return "[email]"

# ---------------------------------------------------------------------------------------------
# Text folding (applies to every block's text)

_QUOTES_AND_DASHES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2035": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2036": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-", "\ufe63": "-",
    "\u2014": " - ", "\u2015": " - ", "\ufe58": " - ",
    "\u00ad": None, "\u200b": None, "\u200e": None, "\u200f": None, "\u2060": None, "\ufeff": None,
})
_LEAKED_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_LEAKED_TAG = re.compile(
    r"</?(?:p|br|div|span|a|b|i|u|s|em|strong|small|big|font|li|ul|ol|dl|dt|dd|h[1-6]|table|tbody|thead|"
    r"tr|td|th|sup|sub|section|article|img|hr|blockquote|center|label|code|pre|mark|del|ins|nav|header|"
    r"footer)\b[^<>]{0,300}?/?>", re.I)
_OBFUSCATED_EMAIL = re.compile(r"[\w.+-]*\[email\s*(?:&#160;|&nbsp;)?\s*protected\][\w.-]*", re.I)
_ASCII_EM_DASH = re.compile(r"(?<=\S) *-{2,3} *(?=\S)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?)\]])|(?<=[(\[])\s+")
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
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES_AND_DASHES)
    if "protected]" in text:
        text = _OBFUSCATED_EMAIL.sub("[email]", text)
    if "--" in text:
        text = _ASCII_EM_DASH.sub(" - ", text)
    text = " ".join(text.split())
    if _CJK.search(text):  # a line break between CJK characters is not a space (CSS segment breaks)
        text = _SPACE_BETWEEN_CJK.sub("", text)
    return _SPACE_BEFORE_PUNCT.sub("", text)


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
        segments: list[list[tuple[str, bool]]] = [[]]
        for text, bold in self.buffer:
            if text == _BR:
                segments.append([])
            else:
                segments[-1].append((text, bold))
        self.buffer = []
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
            text = fold_text("".join(t for t, _ in segment))
            all_bold = all(bold for t, bold in segment if t.strip())
            if all_bold and len(text) <= 120 and not text.endswith((".", ",", ";")):
                self.emit("bold", text)
            else:
                self.emit("para", text)

    # -- traversal (iterative: real pages nest thousands of unclosed <font>/<div> deep)
    def walk(self, root: Tag) -> None:
        stack: list[tuple[Iterator, int, bool, Callable[[], None] | None]] = [
            (iter(root.children), 0, False, None)]
        while stack:
            children, list_depth, bold, on_exit = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if on_exit is not None:
                    on_exit()
            elif isinstance(child, NavigableString):
                if not isinstance(child, (Comment, CData, Declaration, Doctype, ProcessingInstruction)):
                    self.buffer.append((str(child), bold))
            elif isinstance(child, Tag) and not is_dropped(child, self.ctx):
                descend = self.enter(child, list_depth, bold)
                if descend is not None:
                    stack.append((iter(child.children), *descend))

    def enter(self, tag: Tag, list_depth: int, bold: bool) -> tuple[int, bool, Callable[[], None] | None] | None:
        """Handle the start of `tag`; return how to walk its children (None: already handled)."""
        name = tag.name
        email = cloudflare_email(tag) if (tag.has_attr("data-cfemail") or name == "a") else None
        if email is not None:
            self.buffer.append((email, bold))
            return None
        level = _heading_level(tag)
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
        is_bold = bold or name in ("b", "strong") or bool(BOLD_STYLE.search(attr_text(tag, "style")))
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
        rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
        cells_per_row = [[c for c in tr.find_all(("td", "th"), recursive=False)] for tr in rows]
        if (not any(len(cells) > 1 for cells in cells_per_row)
                or table.find(("table", *HEADING_TAGS)) is not None
                or any(len(c.find_all(_LAYOUT_BLOCKS, limit=3)) >= 3 or text_length(c) > 1000
                       for cells in cells_per_row for c in cells)):
            return False  # a layout table: one column, or holding headings, tables or whole texts
        self.flush()
        self.tables += 1
        caption = table.find("caption")
        if caption is not None and not is_dropped(caption, self.ctx):
            self.emit("para", fold_text(self.inline_text(caption)))
        for cells in cells_per_row:
            texts = [fold_text(self.inline_text(c)) for c in cells if not is_dropped(c, self.ctx)]
            while texts and not texts[-1]:
                texts.pop()
            if texts:
                self.emit("row", " | ".join(texts), group=self.tables)
        return True


def _heading_level(tag: Tag) -> int:
    if tag.name in HEADING_TAGS:
        return int(tag.name[1])
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


def _roots(soup: BeautifulSoup, select: str | None, ctx: PageFacts) -> Iterator[Tag]:
    if select:
        matches = soup.select(select)
        if not matches:
            raise SelectorMatchedNothing(f"select {select!r} matched no element of the page")
        # A match inside another match would be rendered twice.
        matched = {id(m) for m in matches}
        yield from (m for m in matches if not any(id(p) in matched for p in m.parents))
        return
    body = soup.body or soup
    # The page's text without its page-level chrome: a mega-footer must not outweigh the policy.
    page_length = text_length(body) - sum(text_length(tag) for tag in ctx.page_chrome)
    for candidates in (ctx.mains, ctx.role_mains, ctx.articles):
        visible = [c for c in candidates if not is_hidden(c, ctx)]
        chosen = [c for c in visible if text_length(c) * 5 >= page_length]
        if chosen:
            yield from (chosen if candidates and candidates[0].name == "article" else chosen[:1])
            return
    ctx.whole_body = True
    yield body


def _normalize_html(body: str, select: str | None, remove: Sequence[str]) -> str:
    soup = BeautifulSoup(body, "lxml")
    for selector in remove:
        for tag in soup.select(selector):
            tag.decompose()
    ctx = PageFacts(soup)
    walker = _Walker(ctx)
    for root in _roots(soup, select, ctx):
        ctx.policy_started = False
        walker.walk(root)
        walker.flush()
    return _render(walker.blocks)


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
    if not body or not body.strip():
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
