"""A cheap fingerprint of what `normalize` reads from a page: equal fingerprints mean equal normalized text.

Pages whose bytes change at every request (a nonce in an attribute, a build id in a script) usually
keep their text; parsing them with lxml and hashing only what the normalizer can see costs ~0.7 ms for
a corpus page, against ~5 for the full normalization (and sectioning and rating after it). `check`
compares this fingerprint with the one stored for the source's latest version and normalizes only when
it differs, from the same parse (`keep_tree`).

What is hashed, for HTML, element by element in document order: the tag name and the number of
children (which, in that order, fix the tree's shape); the attributes the drop and block rules read
(`READ_ATTRIBUTES`, any `aria-*`, an in-page or e-mail-protection `href`, and any attribute named in
the source's `select`/`remove` selectors); the element's text unless it is a `<script>`/`<style>`
(always dropped, and where nonces and build ids live), and its tail. The text of comments and processing
instructions is left out (the normalizer skips it; timestamps and build ids live there too), not where
they stand. Also hashed: NORMALIZER_VERSION, the kind of body (HTML, Markdown, plain), `select` and
`remove`. Markdown and plain-text bodies are hashed whole.

`remembered()` adds a digest of the body as read (`body_digest`, a hash of the bytes with those
settings, ~50 times cheaper than the parse): a page served byte for byte as the remembered one, the
common case for a page without validators, keeps the remembered fingerprint without being parsed.

Anything the fingerprint leaves out must be something the normalizer never reads, or a page could
change without a version: `tests/test_fingerprint.py` checks that every attribute the rules name is
in `READ_ATTRIBUTES`. Differences the normalizer ignores (whitespace, a comment more or less) only cost a
full normalization, never a missed change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from monitor.capture.body_kind import NORMALIZER_VERSION, content_kind
from monitor.capture.html_tree import parse_html

# attributes read by monitor.capture.page_chrome and monitor.capture.normalize (plus aria-*, below)
READ_ATTRIBUTES = frozenset({"id", "class", "role", "style", "hidden", "data-cfemail", "open", "type"})
_UNREAD_TEXT = frozenset({"script", "style"})
_SELECTOR_ATTRIBUTE = re.compile(r"\[\s*([^\s~|^$*=\]]+)")
_READS_TEXT = re.compile(r":(?:-soup-)?contains", re.I)
_SEP, _START, _END, _ATTR = "\x00", "\x01", "\x02", "\x03"
# fp2 parsed without comments, apart from the normalizer; fp3 reads the normalizer's tree, comments as places (a
# source remembering an fp2 fingerprint normalizes its page once more, then remembers fp3)
_VERSION = "fp3"


def body_digest(body: str, *, content_type: str = "text/html", select: str | None = None,
                remove: Sequence[str] = ()) -> str:
    """A digest of everything `fingerprint()` is a function of: equal digests, equal fingerprints."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{NORMALIZER_VERSION}{_SEP}{content_type}{_SEP}{select or ''}{_SEP}{_SEP.join(remove)}{_SEP}"
                  .encode("utf-8", "surrogatepass"))
    digest.update(body.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def remembered(fingerprint_of: Callable[[], str], digest: str, known: str | None) -> str:
    """What a source remembers of a page: `<fingerprint>@<body digest>`. When `known` was remembered of a
    body with the same digest, it is returned as is, without calling `fingerprint_of()` (no parse)."""
    if known is not None and known.endswith(f"@{digest}"):
        return known
    return f"{fingerprint_of()}@{digest}"


def same_text(seen: str | None, known: str | None) -> bool:
    """Whether two remembered fingerprints (see `remembered`) stand for the same normalized text."""
    return seen is not None and known is not None and seen.split("@")[0] == known.split("@")[0]


def fingerprint(body: str, *, content_type: str = "text/html", select: str | None = None,
                remove: Sequence[str] = (), keep_tree: bool = False) -> str:
    """The fingerprint of `body` as `normalize(body, content_type=…, select=…, remove=…)` would read it.

    The page is parsed as `normalize` parses it (`html_tree.parse_html`); `keep_tree` keeps that tree for the
    normalization that follows in this process when the fingerprint turns out new (one parse, not two).

    >>> fingerprint('<p data-nonce="1">Hi</p>') == fingerprint('<p data-nonce="2">Hi</p>')
    True
    >>> fingerprint('<p>Hi</p>') == fingerprint('<p>Hello</p>')
    False
    """
    kind = content_kind(body, content_type) if body and not body.isspace() else "empty"
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{NORMALIZER_VERSION}{_SEP}{kind}{_SEP}{select or ''}{_SEP}{_SEP.join(remove)}{_SEP}".encode())
    if kind != "html":
        digest.update(body.encode("utf-8", "surrogatepass"))
        return f"{_VERSION}:{digest.hexdigest()}"
    selectors = " ".join([select or "", *remove])
    extra = frozenset(name.lower() for name in _SELECTOR_ATTRIBUTE.findall(selectors))
    script_text = bool(_READS_TEXT.search(selectors))  # `:-soup-contains()` reads every text node
    document = parse_html(body, keep=keep_tree)
    if not document:
        digest.update(body.encode("utf-8", "surrogatepass"))
        return f"{_VERSION}:{digest.hexdigest()}"
    parts: list[str] = []
    add = parts.append
    for top in document:
        for element in top.iter():  # pre-order; with each element's number of children, the tree is fixed
            tag = element.tag
            if not isinstance(tag, str):  # a comment or PI: its text is never read (a timestamp, a build id),
                tail = element.tail       # its tail is text like any other
                add(f"{_END}{tail or ''}")
                continue
            add(f"{_START}{tag}{_SEP}{len(element)}")
            if element.attrib:
                for name, value in element.items():
                    if name in READ_ATTRIBUTES or name.startswith("aria-") or name in extra or (
                            name == "href" and (value.startswith("#") or "email-protection" in value)):
                        add(f"{_ATTR}{name}={value}")
            text = element.text
            if text and (tag not in _UNREAD_TEXT or script_text):
                add(_SEP + text)
            tail = element.tail
            if tail:
                add(_END + tail)
    digest.update("".join(parts).encode("utf-8", "surrogatepass"))
    return f"{_VERSION}:{digest.hexdigest()}"
