"""What the demo's two sample sites serve, round after round: real policies, edited as real sites edit them.

Both policies are real (Open Terms Archive recordings, see `policies/README.md`); the edits are ours
and each one is there to show one decision of the tool:

- round 1: both pages as published: the baseline versions, never alerted;
- round 2: frank raises its minors age threshold, adds recipients to its sharing list and lengthens
  a retention period (alerts on minors, sharing and retention); signal only re-spells a word, changes
  curly quotes to straight ones and gets a new cookie banner, footer year and build id (a new version,
  no alert);
- round 3: frank answers with a maintenance page and HTTP 200 (rejected: never a version); signal's
  CDN serves the page of round 1 again, as A/B tests do (a blink back: recorded, no alert).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from markdown_it import MarkdownIt

ATTRIBUTION = "policy text: Open Terms Archive contributors, ODC-BY 1.0, edited for this demo"


@dataclass(frozen=True)
class Serving:
    """One HTTP answer of a sample site."""

    body: str
    status: int = 200
    content_type: str = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Round:
    """One round of the demo: what each site serves, what happened to them, and each check's expected outcome."""

    title: str
    story: str
    pages: dict[str, Serving] = field(default_factory=dict)
    expect: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chrome:
    """The parts of a page around the policy that change without the policy changing."""

    year: int = 2025
    banner: str = "We use cookies to improve your experience. Accept all cookies?"
    build: str = "b7f3a1"


SITES = {"frank": "Oy Frank Students Ab", "signal": "Signal Messenger"}


@cache
def policy_text(name: str) -> str:
    """The bundled policy of a sample site, as Open Terms Archive recorded it (Markdown)."""
    return (resources.files("monitor.demo") / "policies" / f"{name}.md").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    """Replace `old` by `new` once; fail loudly if `old` is not there, so no round edits nothing."""
    if old not in text:
        raise ValueError(f"demo edit: {old!r} is not in the policy")
    return text.replace(old, new, 1)


def page(name: str, policy_markdown: str, chrome: Chrome = Chrome()) -> Serving:
    """A full HTML page as a site serves it: head, nav, cookie banner, the policy in <main>, a footer."""
    body = MarkdownIt("commonmark").render(policy_markdown)
    org = html.escape(SITES[name])
    return Serving(
        f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{org} - Privacy Policy</title>"
        f"<script>window.__BUILD__ = \"{chrome.build}\";</script></head>\n<body>\n"
        f"<a class=\"skip-link\" href=\"#main\">Skip to content</a>\n"
        f"<nav><a href=\"/\">Home</a> <a href=\"/{name}/privacy\">Privacy</a> <a href=\"/help\">Help</a></nav>\n"
        f"<div id=\"onetrust-banner-sdk\" role=\"dialog\"><p>{html.escape(chrome.banner)}</p>"
        f"<button>Accept</button></div>\n"
        f"<main id=\"main\">\n{body}</main>\n"
        f"<footer>© {chrome.year} {org} · {html.escape(ATTRIBUTION)}</footer>\n</body></html>\n")


def maintenance_page(name: str) -> Serving:
    """What a site serves while it is down: an error page, with HTTP 200 as many sites do."""
    org = html.escape(SITES[name])
    return Serving(f"<!doctype html>\n<html lang=\"en\"><head><title>Down for maintenance</title></head>\n"
                   f"<body><h1>We'll be back soon</h1><p>{org} is down for scheduled maintenance. "
                   f"Please try again later.</p></body></html>\n")


def frank_changed() -> str:
    """Frank's policy with three material edits: a minors age, new recipients, a longer retention period."""
    text = policy_text("frank")
    text = edit(text, "children under the age of 13", "children under the age of 16")
    text = edit(text, "with our trusted services providers who work on our behalf",
                "with our trusted services providers, advertising partners and data brokers who work on our behalf")
    return edit(text, "Automatically Collected Information for up to 24 months",
                "Automatically Collected Information for up to 5 years")


def signal_restyled() -> str:
    """Signal's policy with form-only edits: a British spelling, straight quotes, one word re-wrapped."""
    text = policy_text("signal")
    text = edit(text, "Signal utilizes state-of-the-art security", "Signal utilises state-of-the-art security")
    return text.replace("“", '"').replace("”", '"').replace("’", "'")


def rounds() -> list[Round]:
    """The demo's rounds, in order."""
    frank, signal = policy_text("frank"), policy_text("signal")
    restyled = Chrome(year=2026, banner="Your privacy choices: manage cookie settings", build="e02c9d")
    return [
        Round("round 1", "Both sites publish their policies; the first check stores them as baselines.",
              {"frank": page("frank", frank), "signal": page("signal", signal)},
              {"frank": "new", "signal": "new"}),
        Round("round 2", "Frank changes three clauses: the minors age threshold, who it shares data with, how long "
                         "it keeps logs; signal only re-spells a word, straightens its quotes and gets a new cookie "
                         "banner and footer.",
              {"frank": page("frank", frank_changed()), "signal": page("signal", signal_restyled(), restyled)},
              {"frank": "changed", "signal": "changed"}),
        Round("round 3", "Frank is down and answers with a maintenance page (HTTP 200); signal's CDN serves the "
                         "page of round 1 again (an A/B blink).",
              {"frank": maintenance_page("frank"), "signal": page("signal", signal)},
              {"frank": "rejected", "signal": "changed"}),
    ]
