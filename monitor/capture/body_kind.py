"""What kind of body a page is (HTML, Markdown, plain text), and the normalizer's output version.

Both are what `monitor.capture.fingerprint` needs of the normalizer; they live here so that
fingerprinting an unchanged page imports neither the normalizer nor markdown-it.
"""

from __future__ import annotations

import re

NORMALIZER_VERSION = 1  # bump when normalized output changes, so `renormalize` knows what to re-derive

FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_HTML_DOCUMENT = re.compile(r"\A[\s\ufeff]*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
                            re.I | re.S)
_HTML_TAG = re.compile(r"<(?:!doctype|[a-zA-Z][a-zA-Z0-9-]*[\s>/])", re.I)


def content_kind(body: str, content_type: str) -> str:
    """"markdown", "html" or "plain": how the normalizer reads `body` served as `content_type`.

    >>> content_kind("<!doctype html><p>Hi</p>", "text/plain")
    'html'
    >>> content_kind("---\\ntitle: Privacy\\n---\\n# Privacy", "text/html")
    'markdown'
    """
    mime = (content_type or "").split(";")[0].strip().lower()
    if "markdown" in mime or FRONT_MATTER.match(body.lstrip("\n")):
        return "markdown"
    if _HTML_DOCUMENT.match(body):  # servers do label HTML documents text/plain
        return "html"
    if mime == "text/plain" or not _HTML_TAG.search(body[:100_000]):
        return "plain"
    return "html"
