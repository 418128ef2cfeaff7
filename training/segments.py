"""Cut a policy's text into labelling segments: one paragraph each, a list counted with its lead-in."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from monitor.capture.normalize import normalize
from monitor.text.sections import parse_sections

_LIST_LINE = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


@dataclass(frozen=True)
class Segment:
    """One paragraph of a policy with the heading path it sits under."""

    id: str
    service: str
    heading: str
    text: str


def _blocks(body: str) -> list[str]:
    return [b.strip("\n") for b in re.split(r"\n\s*\n", body) if b.strip()]


def _is_list(block: str) -> bool:
    return all(_LIST_LINE.match(line) or line.startswith("  ") for line in block.splitlines())


def paragraphs(body: str) -> list[str]:
    """Paragraphs of a section body; a lead-in ending in ':' and the list after it form one."""
    out: list[str] = []
    joinable = False  # the last paragraph is a lead-in or a list that a following list continues
    for block in _blocks(body):
        if _is_list(block) and out and joinable:
            out[-1] = out[-1] + "\n" + block
        else:
            out.append(block)
        joinable = block.rstrip().endswith(":") or _is_list(block)
    return out


def segments_of(service: str, markdown: str) -> list[Segment]:
    """Every segment of a policy (Markdown as in the corpus), in document order."""
    text = normalize(markdown, content_type="text/markdown")
    found: list[Segment] = []
    for section in parse_sections(text):
        for paragraph in paragraphs(section.text):
            if len(paragraph.split()) < 4:
                continue  # a stray label or a date line: nothing to label
            digest = hashlib.sha1(paragraph.encode()).hexdigest()[:10]
            found.append(Segment(f"{service}:{digest}", service, section.display_path, paragraph))
    return found
