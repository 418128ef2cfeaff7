"""A cheap fingerprint of what `normalize` reads from a page: equal fingerprints mean equal normalized text.

Pages whose bytes change at every request (a nonce in an attribute, a build id in a script) usually
keep their text; parsing them with lxml directly and hashing only what the normalizer can see costs
a few milliseconds, against tens for the full normalization. `check` compares this fingerprint with
the one stored for the source's latest version and normalizes only when it differs.

What is hashed, in document order, for HTML: every element's tag name; the attributes the drop and
block rules read (`READ_ATTRIBUTES`, any `aria-*`, an in-page or e-mail-protection `href`, and
any attribute named in the source's `select`/`remove` selectors); every text node except inside
`<script>`/`<style>` (always dropped, and where nonces and build ids live). Comments and processing
instructions are left out: the normalizer skips them too. Also hashed: NORMALIZER_VERSION, the kind
of body (HTML, Markdown, plain), `select` and `remove`. Markdown and plain-text bodies are hashed whole.

Anything the fingerprint leaves out must be something the normalizer never reads, or a page could
change without a version: `tests/test_fingerprint.py` checks that every attribute the rules name is
in `READ_ATTRIBUTES`. Differences the normalizer ignores (whitespace, comments) only cost a full
normalization, never a missed change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from lxml import etree

from monitor.capture.normalize import NORMALIZER_VERSION, content_kind

# attributes read by monitor.capture.page_chrome and monitor.capture.normalize (plus aria-*, below)
READ_ATTRIBUTES = frozenset({"id", "class", "role", "style", "hidden", "data-cfemail", "open", "type"})
_UNREAD_TEXT = frozenset({"script", "style"})
_SELECTOR_ATTRIBUTE = re.compile(r"\[\s*([^\s~|^$*=\]]+)")
_READS_TEXT = re.compile(r":(?:-soup-)?contains", re.I)
_SEP, _START, _END, _ATTR = "\x00", "\x01", "\x02", "\x03"


def _parser() -> etree.HTMLParser:
    return etree.HTMLParser(remove_comments=True, remove_pis=True, recover=True, no_network=True,
                            huge_tree=True)


_PARSER = _parser()


def fingerprint(body: str, *, content_type: str = "text/html", select: str | None = None,
                remove: Sequence[str] = ()) -> str:
    """The fingerprint of `body` as `normalize(body, content_type=…, select=…, remove=…)` would read it.

    >>> fingerprint('<p data-nonce="1">Hi</p>') == fingerprint('<p data-nonce="2">Hi</p>')
    True
    >>> fingerprint('<p>Hi</p>') == fingerprint('<p>Hello</p>')
    False
    """
    kind = content_kind(body, content_type) if body and body.strip() else "empty"
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{NORMALIZER_VERSION}{_SEP}{kind}{_SEP}{select or ''}{_SEP}{_SEP.join(remove)}{_SEP}".encode())
    if kind != "html":
        digest.update(body.encode("utf-8", "surrogatepass"))
        return f"fp1:{digest.hexdigest()}"
    selectors = " ".join([select or "", *remove])
    extra = frozenset(name.lower() for name in _SELECTOR_ATTRIBUTE.findall(selectors))
    script_text = bool(_READS_TEXT.search(selectors))  # `:-soup-contains()` reads every text node
    try:
        root = etree.fromstring(body, _PARSER)
    except (ValueError, etree.LxmlError):  # e.g. a str with an XML encoding declaration: hash it all
        root = None
    if root is None:
        digest.update(body.encode("utf-8", "surrogatepass"))
        return f"fp1:{digest.hexdigest()}"
    parts: list[str] = []
    add = parts.append
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if event == "start":
            add(_START + tag)
            for name, value in element.attrib.items():
                if name in READ_ATTRIBUTES or name.startswith("aria-") or name in extra or (
                        name == "href" and (value.startswith("#") or "email-protection" in value)):
                    add(f"{_ATTR}{name}={value}")
            if element.text and (tag not in _UNREAD_TEXT or script_text):
                add(_SEP + element.text)
        else:
            add(_END)
            if element.tail:
                add(_SEP + element.tail)
    digest.update("".join(parts).encode("utf-8", "surrogatepass"))
    return f"fp1:{digest.hexdigest()}"
