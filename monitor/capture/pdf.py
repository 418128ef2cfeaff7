"""PDF policy → the same normalized text as an HTML page: headings, re-flowed paragraphs, no running headers.

`pdf_text(content)` reads the text layer with pdfminer.six (its layout analysis gives every line's
position, font and size) and rebuilds the structure a reader sees:

- **Headings** from font size: lines set larger than the body text are `#` headings, the largest size
  level 1, the next level 2, and so on (at most 4 levels); a heading wrapped over two lines is one.
  At body size, a short numbered line standing on its own (`3. Sharing`, `4.2 Retention`) is a heading
  whose level follows the numbering depth, below the larger headings (`3.` is level 2 under a title),
  and a short all-bold line is a `**bold**` line, as in HTML.
- **Paragraphs** re-flowed: the lines of one paragraph are joined into one line. A paragraph ends at a
  gap wider than the usual line spacing, at a short line that ends a sentence or is followed by a line
  starting with a capital or digit, at a heading or at a
  list item (a line starting with a bullet or a dash, or next to a small drawn dot or square, as
  browsers print list markers). It continues over a page break when the page
  ended mid-sentence. A word hyphenated at a line end keeps its hyphen (`third-party` must survive).
- **Running headers and footers** dropped: a line no larger than the body text in the top or bottom 8%
  of the page that repeats (digits aside) on at least half of the pages, and any page number there
  (`3`, `Page 3 of 12`, `- 3 -`). In a one-page PDF only the page number can be told apart.

Refused with a reason (`ContentRejected`): a scanned PDF (pages of images, no text layer), a PDF with
no text at all, a password-protected or unreadable PDF, more than MAX_PAGES pages, streams that decode to
more than MAX_DECODED_BYTES together (a compression bomb: a 1 MB file can inflate to gigabytes, and pdfminer
inflates a stream whole), a stream encoded as a fax image. The byte size is capped before this, by the fetch
(`max_bytes`).

Why pdfminer.six: measured on a 13-page generated policy (docs/capture.md), pypdf extracts text
faster but reports positions only through a visitor whose text matrices are unreliable across PDF
producers, and pdfplumber (built on pdfminer.six) adds Pillow and pypdfium2 and was 3x slower;
pdfminer.six gives each line's box and each character's size and font directly, which is all
the structure above needs, and it is pure Python.
"""

from __future__ import annotations

import io
import re
import zlib
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from monitor.capture.normalize import fold_text
from monitor.errors import ContentRejected

MAX_PAGES = 300
MAX_DECODED_BYTES = 200 * 2**20  # all of a PDF's streams decoded: a 300-page policy's text streams are a few MB
MARGIN = 0.08                # top and bottom 8% of a page: where running headers and footers live (the body
                             # text of a page with the usual inch of margin starts below it)
HEADING_RATIO = 1.15         # a line this much larger than the body text is a heading
PARAGRAPH_GAP = 1.4          # a gap this many usual line spacings wide starts a new paragraph
SHORT_LINE = 0.8             # a line ending before this fraction of the column width may end a paragraph
MAX_HEADING_CHARS = 150

_PAGE_NUMBER = re.compile(r"^(?:(?:page|seite|página|pagina|p\.)\s*)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?"
                          r"(?:\s*(?:/|of|von|de|di|sur)\s*\d{1,4})?$", re.I)
_BULLET = re.compile(r"^(?:[•●▪‣◦○■□►▸*·]|[-–—](?=\s))\s*")
_NUMBERED_HEADING = re.compile(r"^(?:(?:section|article|art\.|§)\s*)?(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(?=\S)", re.I)
# pdfminer writes a glyph it cannot map to a character as "(cid:N)"; at a line start it is nearly always a
# bullet drawn from a symbol font, elsewhere it is dropped (no reader sees those as text either)
_UNMAPPED_BULLET = re.compile(r"^\(cid:\d+\)\s*")
_UNMAPPED = re.compile(r"\(cid:\d+\)")
_SENTENCE_END = re.compile(r"[.!?:;)\]\"'”’]$")


@dataclass
class _Line:
    page: int
    top: float      # distance of the line's top from the page top (grows down the page)
    bottom: float
    x0: float
    x1: float
    size: float     # the most common character size on the line
    bold: bool      # every character in a bold face
    text: str


@dataclass
class _Block:
    kind: str       # "heading" | "bold" | "para" | "item"
    text: str
    level: int = 0
    size: float = 0.0
    page: int = 0
    bottom: float = 0.0


def pdf_text(content: bytes) -> str:
    """The normalized text of a PDF (rules in the module docstring); raises ContentRejected when it has none.

    >>> pdf_text(b"%PDF-1.4 not really")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    monitor.errors.ContentRejected: not a readable PDF: damaged, truncated or not a PDF (pdfminer: No /Root object!...)
    """
    lines, pages, image_pages = _read(content)
    if not lines:
        if image_pages:
            raise ContentRejected(f"scanned PDF: {image_pages} of {pages} page{'s' * (pages != 1)} are images "
                                  f"with no text layer; policy-monitor reads text and does no OCR")
        raise ContentRejected(f"PDF without text ({pages} page{'s' * (pages != 1)})")
    lines = _without_running_lines(lines, pages, _body_size(lines))
    return _render(_blocks(lines))


# -- decoding streams within a budget ---------------------------------------------------------------------------
# pdfminer inflates each stream whole (`zlib.decompress`, its pure-Python LZW and run-length decoders), so the
# decoders it calls are swapped, once, for ones that count what they produce against the document's budget and
# stop at it. Nothing else in the process uses pdfminer.

_budget: ContextVar[list[int] | None] = ContextVar("pdf_decode_budget", default=None)


def _room() -> int:
    """Bytes the document's streams may still decode to."""
    budget = _budget.get()
    return budget[0] if budget is not None else MAX_DECODED_BYTES


def _spend(produce: Callable[[int], bytes]) -> bytes:
    """`produce(limit)` (at most `limit` bytes, limit one over the room left) counted against the budget."""
    out = produce(_room() + 1)
    if len(out) > _room():
        raise _too_large()
    if (budget := _budget.get()) is not None:
        budget[0] -= len(out)
    return out


def _too_large() -> ContentRejected:
    return ContentRejected(f"PDF streams decode to more than {MAX_DECODED_BYTES // 2**20} MB: not read "
                           "(a compression bomb, or not a policy)")


class _BoundedInflater:
    def __init__(self, *args: Any):
        self._inflater = zlib.decompressobj(*args)

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        return _spend(lambda limit: self._inflater.decompress(data, min(limit, max_length) if max_length else limit))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inflater, name)


class _BoundedZlib:
    """What pdfminer.pdftypes calls `zlib`: `decompress` as zlib's (an incomplete stream an error), bounded."""

    error = zlib.error
    decompressobj = _BoundedInflater

    @staticmethod
    def decompress(data: bytes, *args: Any) -> bytes:
        def produce(limit: int) -> bytes:
            inflater = zlib.decompressobj()
            out = inflater.decompress(data, limit)
            if len(out) < limit and not inflater.eof:  # (raised before it is charged: pdfminer then inflates it
                # again byte by byte, `decompress_corrupted`, which is charged)
                raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")
            return out

        return _spend(produce)


def _bounded_lzw(data: bytes) -> bytes:
    from pdfminer.lzw import LZWDecoder

    def produce(limit: int) -> bytes:
        out = bytearray()
        for piece in LZWDecoder(io.BytesIO(data)).run():
            out += piece
            if len(out) >= limit:
                break
        return bytes(out)

    return _spend(produce)


def _bounded_run_length(data: bytes) -> bytes:
    """RunLengthDecode (PDF 32000-1 § 7.4.5) into bytes, its size counted before (pdfminer's own decoder
    builds a list of ints: 8 bytes of memory a decoded byte)."""
    size, at = 0, 0
    while at < len(data) and data[at] != 128:  # the decoded size, from the run lengths alone
        size, at = (size + data[at] + 1, at + data[at] + 2) if data[at] < 128 else (size + 257 - data[at], at + 2)
    if size > _room():
        raise _too_large()

    def produce(limit: int) -> bytes:
        out, at = bytearray(), 0
        while at < len(data) and data[at] != 128:
            length = data[at]
            if length < 128:
                out += data[at + 1:at + 2 + length]
                at += length + 2
            else:
                out += data[at + 1:at + 2] * (257 - length)
                at += 2
        return bytes(out)

    return _spend(produce)


def _refused_fax(data: bytes, params: Any) -> bytes:
    """A text stream encoded as a fax image: nothing a policy needs, and pdfminer's pure-Python decoder takes a
    minute for a few hundred bytes that describe a wide enough page."""
    raise ContentRejected("PDF text encoded as a fax image (CCITTFaxDecode): not read")


def _bound_pdfminer() -> None:
    from pdfminer import pdftypes

    pdftypes.zlib = _BoundedZlib  # type: ignore[assignment]
    pdftypes.lzwdecode = _bounded_lzw
    pdftypes.rldecode = _bounded_run_length
    pdftypes.ccittfaxdecode = _refused_fax  # (images are not decoded to read text: only content streams get here)


def _read(content: bytes) -> tuple[list[_Line], int, int]:
    """(lines in reading order, page count, pages that hold images but no text)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTCurve, LTFigure, LTImage, LTTextContainer, LTTextLine
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    _bound_pdfminer()
    lines: list[_Line] = []
    pages = image_pages = 0
    budget = _budget.set([MAX_DECODED_BYTES])
    try:
        for number, layout in enumerate(extract_pages(io.BytesIO(content), laparams=LAParams(),
                                                      maxpages=MAX_PAGES + 1)):
            pages += 1
            if pages > MAX_PAGES:
                raise ContentRejected(f"PDF has more than {MAX_PAGES} pages: too long to be one policy")
            height = layout.height or 1.0
            found_text = found_image = False
            # small round or square shapes: list bullets drawn as graphics (browsers print them so)
            marks = [e.bbox for e in layout if isinstance(e, LTCurve) and 1 <= e.width <= 10 and 1 <= e.height <= 10
                     and max(e.width, e.height) <= 2.5 * min(e.width, e.height)]
            for element in layout:
                if isinstance(element, LTFigure | LTImage):
                    found_image = True
                if not isinstance(element, LTTextContainer):
                    continue
                for line in element if not isinstance(element, LTTextLine) else [element]:
                    chars = [c for c in line if isinstance(c, LTChar)] if isinstance(line, LTTextLine) else []
                    text = _UNMAPPED.sub("", _UNMAPPED_BULLET.sub("• ", line.get_text().strip())).strip()
                    if not chars or not text:
                        continue
                    found_text = True
                    size = Counter(round(c.size * 2) / 2 for c in chars).most_common(1)[0][0]
                    bold = all("bold" in c.fontname.lower() or "black" in c.fontname.lower()
                               for c in chars if c.get_text().strip())
                    if any(x1 <= line.x0 <= x1 + 3 * size and line.y0 <= (y0 + y1) / 2 <= line.y1
                           for x0, y0, x1, y1 in marks):
                        text = "• " + text
                    lines.append(_Line(number, (height - line.y1) / height, (height - line.y0) / height,
                                       line.x0, line.x1, size, bold, text))
            if found_image and not found_text:
                image_pages += 1
    except ContentRejected:
        raise
    except PDFPasswordIncorrect:
        raise ContentRejected("PDF is password-protected") from None
    # what a reader can act on first (a damaged or truncated file, or not a PDF at all), the parser's own words
    # after it, for a bug report
    except PDFSyntaxError as exc:
        raise ContentRejected(f"not a readable PDF: damaged, truncated or not a PDF (pdfminer: {_first_line(exc)})") \
            from None
    except Exception as exc:  # noqa: BLE001 — pdfminer raises many kinds on damaged files; none may escape
        raise ContentRejected(f"not a readable PDF: damaged, truncated or not a PDF (pdfminer: "
                              f"{type(exc).__name__}: {_first_line(exc)})") from None
    finally:
        _budget.reset(budget)
    if pages == 0:
        raise ContentRejected("not a readable PDF: no page found")
    return lines, pages, image_pages


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _in_margin(line: _Line) -> bool:
    return line.bottom <= MARGIN or line.top >= 1 - MARGIN


def _body_size(lines: list[_Line]) -> float:
    """The size most of the text is set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0]


def _without_running_lines(lines: list[_Line], pages: int, body: float) -> list[_Line]:
    """Drop page numbers and the headers/footers repeated on at least half of the pages (never a heading set
    larger than the body text, such as a section that starts at the top of several pages)."""
    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", " ".join(line.text.lower().split()))

    on_pages: dict[str, set[int]] = {}
    for line in lines:
        if _in_margin(line) and line.size <= body * 1.05:
            on_pages.setdefault(key(line), set()).add(line.page)
    repeated = {k for k, seen in on_pages.items() if len(seen) >= max(2, pages / 2)}
    return [line for line in lines
            if not (_in_margin(line) and (key(line) in repeated or _PAGE_NUMBER.match(line.text.strip())))]


def _blocks(lines: list[_Line]) -> list[_Block]:
    body = _body_size(lines)
    heading_sizes = sorted({line.size for line in lines if line.size >= body * HEADING_RATIO}, reverse=True)
    left = min(line.x0 for line in lines)
    right = max(line.x1 for line in lines)
    width = max(right - left, 1.0)
    spacing = _usual_spacing(lines, body)

    blocks: list[_Block] = []
    previous: _Line | None = None
    for index, line in enumerate(lines):
        text = " ".join(line.text.split())
        following = lines[index + 1] if index + 1 < len(lines) else None
        last = blocks[-1] if blocks else None
        if line.size in heading_sizes and len(text) <= MAX_HEADING_CHARS:
            level = min(heading_sizes.index(line.size) + 1, 4)
            if (last and last.kind == "heading" and last.size == line.size and previous is not None
                    and previous.page == line.page and line.top - previous.bottom < spacing):
                last.text += " " + text  # one heading wrapped over two lines
            else:
                blocks.append(_Block("heading", text, level, line.size, line.page, line.bottom))
        elif _stands_alone(line, previous, following, spacing) and len(text) <= 120 and not text.endswith(
                (".", ",", ";")) and ((numbered := _NUMBERED_HEADING.match(text)) or line.bold):
            if numbered:
                # below the larger headings; a numbered top level is level 2 under the (implied) title
                depth = numbered.group(1).count(".") + 1
                level = min(max(len(heading_sizes), 1) + depth, 6)
                blocks.append(_Block("heading", text, level, line.size, line.page))
            else:
                blocks.append(_Block("bold", text, 0, line.size, line.page))
        elif bullet := _BULLET.match(text):
            blocks.append(_Block("item", text[bullet.end():], 0, line.size, line.page, line.bottom))
        elif last and last.kind in ("para", "item") and _continues(last, previous, line, left, width, spacing):
            joiner = "" if re.search(r"[^\W\d_]-$", last.text) and text[:1].islower() else " "
            last.text += joiner + text
        else:
            blocks.append(_Block("para", text, 0, line.size, line.page))
        previous = line
    return blocks


def _usual_spacing(lines: list[_Line], body: float) -> float:
    """The most common distance from one body line's bottom to the next line's top, as a page fraction."""
    gaps: Counter[float] = Counter()
    for a, b in zip(lines, lines[1:], strict=False):
        if a.page == b.page and a.size == body == b.size and b.top > a.top:
            gaps[round(b.top - a.bottom, 3)] += 1
    return max(gaps.most_common(1)[0][0], 0.002) if gaps else 0.01


def _stands_alone(line: _Line, previous: _Line | None, following: _Line | None, spacing: float) -> bool:
    """A line set apart from the lines around it: a gap above (or a page start) and one below."""
    above = previous is None or previous.page != line.page or line.top - previous.bottom > spacing * PARAGRAPH_GAP
    below = following is None or following.page != line.page or following.top - line.bottom > spacing * PARAGRAPH_GAP
    return above and below


def _continues(block: _Block, previous: _Line | None, line: _Line, left: float, width: float,
               spacing: float) -> bool:
    """Whether `line` goes on the paragraph (or list item) `block` that `previous` ended."""
    if previous is None:
        return False
    ended = bool(_SENTENCE_END.search(block.text))
    if previous.page != line.page:  # over a page break only a sentence that did not end goes on
        return not ended
    if line.top - previous.bottom > spacing * PARAGRAPH_GAP:
        return False
    # a paragraph's lines run to the right margin except its last: a short line ends it when it ends a
    # sentence, or when a capital or digit starts the next line (a title line, a line broken with <br>)
    short = previous.x1 - left < width * SHORT_LINE
    return not (short and (ended or line.text[:1].isupper() or line.text[:1].isdigit()))


def _render(blocks: list[_Block]) -> str:
    out: list[str] = []
    previous: _Block | None = None
    for block in blocks:
        text = fold_text(block.text)
        if not text:
            continue
        if block.kind == "heading":
            line = "#" * block.level + " " + text
        elif block.kind == "bold":
            line = f"**{text}**"
        elif block.kind == "item":
            line = "- " + text
        else:
            line = text
        if out:
            out.append("\n" if block.kind == "item" and previous is not None and previous.kind == "item" else "\n\n")
        out.append(line)
        previous = block
    return "".join(out)
