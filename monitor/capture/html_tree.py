"""HTML → the lxml tree `normalize` and `fingerprint` read: libxml2's parse, recovering, at any depth.

A page deeper than libxml2's tree builder goes (real pages nest thousands of unclosed <font>/<div>) is built
from the parser's events instead. One parse serves both readers of a page a `check` reads in one process:
`parse_html(body, keep=True)` keeps the tree for the next call with the same body.
"""

from __future__ import annotations

import re

from lxml import etree

Tag = etree._Element


_DEPTH_LIMIT = 2048  # libxml2's tree builder stops a document there (with XML_PARSE_HUGE; 256 without)
_IMPLIED = 16  # elements libxml2 adds around a page's own (html, head, body, p): more than it ever nests
_AT_DEPTH_LIMIT = etree.XPath("boolean(" + "/*" * _DEPTH_LIMIT + ")")
_INVALID_NAME_CHAR = re.compile(r"[^\w.-]")
# Characters libxml2's tree keeps in a text but lxml's API refuses: control characters, U+FFFE, U+FFFF
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """`text` as lxml's API takes it: a whitespace control character as a space, any other as U+FFFD (the
    only place the deep-page path can differ from libxml2's tree, where they stay as they are)."""
    if not _NOT_XML_TEXT.search(text):
        return text
    return _NOT_XML_TEXT.sub(lambda m: " " if m.group().isspace() else "\ufffd", text)


def parse_html(body: str, *, keep: bool = False) -> list[Tag]:
    """The top-level elements of an HTML page as libxml2 reads it (a second <html> follows content after
    `</html>`); [] for a page without elements. Parsed as BeautifulSoup fed lxml: a str, once, recovering.

    `keep`: the tree is also kept for the next call with the same body, which takes it (see `KEEP_MAX_CHARS`):
    `check` fingerprints a page, then normalizes it when the fingerprint is new, in the same process."""
    global _kept
    if _kept is not None and not keep:
        kept_body, kept = _kept
        _kept = None
        if kept_body == body:  # (a comparison of equal strings: one memcmp, ~1 µs for a 40 KB page)
            return kept
    document = _parse(body)
    _kept = (body, document) if keep and len(body) <= KEEP_MAX_CHARS else None
    return document


KEEP_MAX_CHARS = 2_000_000  # a kept tree costs ~10x its page in memory until the next parse: not a huge page's
_kept: tuple[str, list[Tag]] | None = None


def _parse(body: str) -> list[Tag]:
    if body[:1] == "\ufeff":
        body = body[1:]
    for markup, encoding in ((body, None), (body.encode("utf-8", "surrogatepass"), "utf-8")):
        parser = etree.HTMLParser(recover=True, huge_tree=True, no_network=True, encoding=encoding)
        try:
            parser.feed(markup)
            root = parser.close()
        except (UnicodeDecodeError, LookupError, etree.ParserError):
            continue  # BeautifulSoup then tried the UTF-8 bytes
        except etree.XMLSyntaxError:  # no element at all
            return []
        if root is None:
            return []
        document = [root, *(tag for tag in root.itersiblings() if isinstance(tag.tag, str))]
        # libxml2 stopped building the tree at its depth limit: build it from the parse events. A page with fewer
        # tags than that (most: the count is one pass in C, the XPath ~0.1 ms a page) cannot reach it, the few
        # elements libxml2 implies (html, body, p) allowed for
        tags = markup.count("<" if isinstance(markup, str) else b"<")
        if tags + _IMPLIED >= _DEPTH_LIMIT and _AT_DEPTH_LIMIT(root):
            return _parse_events(markup, encoding)
        return document
    return []


class _EventTree:
    """An lxml parser target that builds the tree itself: no depth limit, unlike libxml2's tree builder."""

    def __init__(self) -> None:
        self.tops: list[Tag] = []
        self.open: list[Tag] = []

    def start(self, name: str, attrib: dict[str, str]) -> None:
        try:
            tag = etree.Element(name)
        except ValueError:  # `<fb:like>`: a name libxml2 accepts and lxml's API does not; no rule reads it
            try:
                tag = etree.Element("x" + _INVALID_NAME_CHAR.sub("_", name))  # a `-` (custom element) stays
            except ValueError:
                tag = etree.Element("x_")
        for key, value in attrib.items():
            try:
                tag.set(key, _xml_text(value))
            except ValueError:  # `@click`, `:class`: no rule reads them either
                pass
        if self.open:
            self.open[-1].append(tag)
        else:
            self.tops.append(tag)
        self.open.append(tag)

    def end(self, name: str) -> None:
        if self.open:
            self.open.pop()

    def data(self, text: str) -> None:
        if not self.open:
            return  # whitespace between top-level elements
        parent, text = self.open[-1], _xml_text(text)
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + text
        else:
            parent.text = (parent.text or "") + text

    def comment(self, text: str) -> None:
        if self.open:  # an empty comment keeps the texts around it apart, as in libxml2's tree
            self.open[-1].append(etree.Comment())

    def pi(self, target: str, data: str | None = None) -> None:
        self.comment("")

    def close(self) -> list[Tag]:
        return self.tops


def _parse_events(markup: str | bytes, encoding: str | None) -> list[Tag]:
    target = _EventTree()
    parser = etree.HTMLParser(recover=True, huge_tree=True, no_network=True, encoding=encoding, target=target)
    parser.feed(markup)
    return parser.close()
