"""One captured response → its normalized text, whatever it holds: HTML, Markdown, plain text, a PDF, or parts.

The same function reads a page just fetched (`monitor.pipeline`) and a raw page stored long ago
(`renormalize`), so a version's text is always derivable from its stored raw bytes:

- a PDF (Content-Type `application/pdf`, a URL path ending in `.pdf`, or a body starting `%PDF-`)
  goes through `monitor.capture.pdf`;
- a policy split over several pages is stored as one MIME `multipart/mixed` document (`bundle`),
  each part with its own Content-Type and Content-Location; its text is the parts' texts in order,
  separated by a blank line;
- anything else is decoded and handed to `monitor.capture.normalize`.
"""

from __future__ import annotations

import email.policy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import urlsplit

from monitor.capture.fetch import decode_html
from monitor.errors import ContentRejected

# The readers (normalize: lxml and markdown-it; pdf) are imported when a body is read: `check` sends
# its first requests without waiting for them, a check of an unchanged page only fingerprints it, and worker
# processes import them once before they are forked.

BUNDLE_TYPE = "multipart/mixed"
PART_SEPARATOR = "\n\n"
_POLICY = email.policy.default.clone(linesep="\r\n", max_line_length=76)  # MIME as RFC 2046 writes it


@dataclass(frozen=True)
class Part:
    """One page of a policy as captured: where it came from, its media type (charset included) and bytes."""

    url: str
    content_type: str
    content: bytes


def is_pdf(content_type: str, url: str = "", content: bytes = b"") -> bool:
    """Whether a response is a PDF: by media type, else by the URL's extension, else by its first bytes.

    >>> is_pdf("application/pdf"), is_pdf("", "https://example.org/legal/privacy.PDF"), is_pdf("text/html")
    (True, True, False)
    """
    media = content_type.split(";")[0].strip().lower()
    if media in ("application/pdf", "application/x-pdf"):
        return True
    if media in ("", "application/octet-stream", "binary/octet-stream") and urlsplit(url).path.lower().endswith(".pdf"):
        return True
    return content[:1024].lstrip().startswith(b"%PDF-")


def capture_selectors(content_type: str, select: str | None, remove: Sequence[str], *, archived: bool
                      ) -> tuple[str | None, Sequence[str]]:
    """The `select`/`remove` a capture is read with: a fetched page's as configured; one imported from an
    archive (`import`; `archive.is_archived`) only when it is HTML, since an archive's Markdown, text or
    PDF is the policy already extracted, without the page's elements. The one rule of `import` and
    `renormalize`."""
    if archived and content_type.split(";")[0].strip().lower() != "text/html":
        return None, ()
    return select, remove


def document_text(content: bytes, *, content_type: str = "text/html", url: str = "", select: str | None = None,
                  remove: Sequence[str] = ()) -> str:
    """The normalized text of a response body (PDF, bundle of parts, or markup/text); pure and deterministic."""
    media = content_type.split(";")[0].strip().lower()
    if media == BUNDLE_TYPE:
        return PART_SEPARATOR.join(
            document_text(part.content, content_type=part.content_type, url=part.url, select=select, remove=remove)
            for part in unbundle(content))
    if is_pdf(content_type, url, content):
        if select or remove:
            raise ContentRejected("`select` and `remove` pick elements of HTML pages; this is a PDF (drop them "
                                  "for this source)")
        from monitor.capture.pdf import pdf_text

        return pdf_text(content)
    from monitor.capture.normalize import normalize

    text, _ = decode_html(content, content_type)
    return normalize(text, content_type=content_type, select=select, remove=remove)


def bundle(parts: Sequence[Part]) -> bytes:
    """Several captured pages as one MIME multipart/mixed document (stored as the version's raw page)."""
    message = EmailMessage(policy=_POLICY)
    message.make_mixed()
    for part in parts:
        piece = EmailMessage(policy=_POLICY)
        maintype, _, subtype = part.content_type.split(";")[0].strip().partition("/")
        piece.set_content(part.content, maintype=maintype or "application", subtype=subtype or "octet-stream",
                          cte="base64")
        piece.replace_header("Content-Type", part.content_type or "application/octet-stream")
        piece["Content-Location"] = part.url
        message.attach(piece)
    # a boundary from the contents, not random: the same pages give the same bytes (and raw hash)
    digest = hashlib.sha256(b"".join(hashlib.sha256(p.content).digest() for p in parts)).hexdigest()[:32]
    message.set_boundary(f"policy-monitor-part-{digest}")
    return message.as_bytes()


def unbundle(content: bytes) -> list[Part]:
    """The parts of a `bundle`, in order."""
    message = BytesParser(policy=_POLICY).parsebytes(content)
    if not message.is_multipart():
        raise ContentRejected("stored multi-part page is not a MIME multipart document")
    return [Part(str(piece.get("Content-Location", "")), str(piece.get("Content-Type", "")),
                 piece.get_payload(decode=True) or b"")
            for piece in message.iter_parts()]
