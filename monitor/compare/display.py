"""Section changes → text, Markdown or rich renderings for people (`policy-monitor diff`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from monitor.compare.diff import SectionChange, word_diff

_VERBS = {
    "added": "added", "removed": "removed", "modified": "modified", "moved": "moved", "renamed": "renamed",
    "split": "split off", "merged": "merged", "date": "date changed",
}
_DELETED_STYLE = "red strike"
_INSERTED_STYLE = "green"


def _prepare(items: Sequence[object], labels: Sequence[str | None] | None) -> list[tuple[SectionChange, str | None]]:
    """Accept plain `SectionChange`s or rated changes (anything with `.change`, e.g. RatedChange).

    Without explicit labels, a rated change is labelled by its severity and summary.
    """
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"{len(labels)} labels for {len(items)} changes")
    out = []
    for i, item in enumerate(items):
        change = getattr(item, "change", item)
        if not isinstance(change, SectionChange):
            raise TypeError(f"not a section change: {item!r}")
        label = labels[i] if labels is not None else _default_label(item)
        out.append((change, label))
    return out


def _default_label(item: object) -> str | None:
    summary, severity = getattr(item, "summary", ""), getattr(item, "severity", "")
    if summary and severity:
        return f"{severity}: {summary}"
    return summary or None


def _pieces(change: SectionChange) -> list[tuple[int, str]]:
    """What to show for one change as (op, text): word diff where both sides exist."""
    if change.kind in ("moved", "split", "merged"):
        return [(0, f"{_VERBS[change.kind]}: "), (-1, change.before), (0, " → "), (1, change.after)]
    if not change.before:
        return [(1, change.after)] if change.after else []
    if not change.after:
        return [(-1, change.before)]
    return word_diff(change.before, change.after)


def _header(change: SectionChange, label: str | None) -> str:
    header = f"[{_VERBS.get(change.kind, change.kind)}] {change.section}"
    return f"{header} — {label}" if label else header


def render_text(changes: Sequence[object], labels: Sequence[str | None] | None = None) -> str:
    """Plain text, wdiff style: `[-deleted-]` and `{+inserted+}` inline, one block per change.

    `changes` are `SectionChange`s or rated changes (with `.change`); `labels` (one per change,
    e.g. "high: age threshold 13 → 16") override the rated changes' severity and summary.

    >>> render_text([SectionChange("modified", "5. Minors", before="under 18.", after="under 13.")])
    '[modified] 5. Minors\\n  under [-18-]{+13+}.\\n'
    """
    blocks = []
    for change, label in _prepare(changes, labels):
        body = "".join(text if op == 0 else f"[-{text}-]" if op < 0 else f"{{+{text}+}}"
                       for op, text in _pieces(change))
        indented = "\n".join("  " + line for line in body.splitlines()) if body else ""
        blocks.append(_header(change, label) + ("\n" + indented if indented else "") + "\n")
    return "\n".join(blocks)


def _md_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_[]<>#|~" else ch for ch in text)


def render_markdown(changes: Sequence[object], labels: Sequence[str | None] | None = None) -> str:
    """Markdown: one `###` heading per section path, deletions as ~~struck~~, insertions in **bold**."""
    blocks = []
    for change, label in _prepare(changes, labels):
        title = f"### {_md_escape(change.section)}\n\n*{_VERBS.get(change.kind, change.kind)}*"
        if label:
            title += f" — {_md_escape(label)}"
        parts = []
        for op, text in _pieces(change):
            escaped = _md_escape(text)
            if op == 0 or not text.strip():
                parts.append(escaped)
            else:  # keep the markers tight around the words, or Markdown ignores them
                lead, core, tail = _split_space(escaped)
                parts.append(f"{lead}~~{core}~~{tail}" if op < 0 else f"{lead}**{core}**{tail}")
        body = "".join(parts).strip()
        blocks.append(title + ("\n\n" + body.replace("\n", "  \n") if body else ""))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core):]


def render_rich(changes: Sequence[object], labels: Sequence[str | None] | None = None, *,
                markers: bool = False) -> RenderableType:
    """A rich renderable: one panel per change titled by its section path, deletions red and
    struck through, insertions green. `markers` adds render_text's `[-…-]` and `{+…+}` around them,
    for a console without colour, where the styles alone would run "12 months" into "7 years"."""
    panels = []
    for change, label in _prepare(changes, labels):
        # path and summary go in the body, where they wrap: a panel title is cut at the panel's width
        body = Text(change.section, style="bold")
        body.append("\n" + _VERBS.get(change.kind, change.kind) + (f" — {label}" if label else ""), style="italic")
        body.append("\n\n")
        for op, text in _pieces(change):
            if markers and op:
                text = f"[-{text}-]" if op < 0 else f"{{+{text}+}}"
            body.append(text, style=_DELETED_STYLE if op < 0 else _INSERTED_STYLE if op > 0 else "")
        panels.append(Panel(body))
    if not panels:
        return Text("No changes.")
    return Group(*panels)
