"""Test helper: turn the seed policies (plain text) into realistic, noisy HTML pages.

Every engineer's tests build their pages here, so the API is stable:

    from tests.pages import seed_text, render_policy, edit

    text = seed_text(2)                                  # tests/fixtures/seeds/002_*.txt
    html = render_policy(text)                           # a full HTML document (str)
    html2 = render_policy(text, noise=7, wrap=60)        # same policy, different chrome/whitespace
    changed = render_policy(edit(text, "13", "16"))      # a real change of the policy

`render_policy(text, *, style="headings", noise=0, banner=True, wrap=None, notice=False,
typography=False) -> str`:

- the policy goes in `<main>`; around it: `<head>` with meta tags, a build id and a CSRF token, a
  skip link, a `<nav>` whose links carry tracking parameters, a cookie-consent banner, inline
  scripts and a `<footer>` with a copyright year.
- `noise` (int) varies only page chrome and markup that must never count as a change: build ids,
  script tokens, tracking parameters (also on links inside the policy), image hosts, the nav items,
  the cookie banner's text and markup flavour (OneTrust id, `.cookie-consent` class or
  `role=dialog`), the footer year, a hidden `aria-hidden`/`hidden` element's text, and whether
  e-mail addresses are plain `mailto:` links or Cloudflare `__cf_email__` obfuscated spans.
- `banner=False` leaves the cookie banner out; `notice=True` adds a "We updated our policy" alert
  above the policy (injected notices must not count either).
- `style`: `"headings"` renders headings as `<h1>`..`<h4>` by depth; `"bold"` renders them as
  `<div class="title"><b>…</b></div>`; `"divs"` is like `"headings"` but paragraphs are `<div>`s.
- `wrap` re-wraps the HTML source lines at that width (whitespace-only change, never inside
  scripts, styles or attribute values).
- `typography=True` uses curly quotes, non-breaking spaces after `e.g.`-style abbreviations and
  before numbers' units, and soft hyphens in long words: variants a normalizer must fold away.

How seed lines become HTML (one non-empty seed line = one block):
- a YAML front matter (`---` … `---`) is dropped; Markdown `#` lines become headings of that level
  and `[label](target)` becomes a link;
- lines starting with `-`, `*`, `•` or `·` become `<ul>` items; indented lines starting with `N.`
  become `<ol>` items (the number is left to the browser, as in real pages); a list nests one level
  per two extra spaces of indentation;
- a heading is a line that is short (<= 120 chars), does not end with `.`, `;` or `,`, and either is
  numbered (`1.`, `2.3`, `a.`, `(1)`: depth from the number) or is title-like (<= 8 words, most
  capitalised, no `@`); the first line of the document is the `<h1>` title;
- everything else is a paragraph.

`edit(text, old, new, count=1)` replaces text and fails loudly when `old` is absent, so a test never
"changes" a policy by editing nothing.
"""

from __future__ import annotations

import html
import random
import re
from pathlib import Path

SEEDS_DIR = Path(__file__).parent / "fixtures" / "seeds"

STYLES = ("headings", "bold", "divs")


def seed_text(n: int) -> str:
    """Return the text of the seed whose file name starts with `00n_` (e.g. 4 → `004_….txt`)."""
    matches = sorted(SEEDS_DIR.glob(f"{n:03d}_*.txt"))
    if not matches:
        raise FileNotFoundError(f"no seed {n:03d}_*.txt in {SEEDS_DIR}")
    return matches[0].read_text(encoding="utf-8")


def seed_numbers() -> list[int]:
    """The numbers of all seeds present (for parametrizing tests over every seed)."""
    return sorted(int(p.name[:3]) for p in SEEDS_DIR.glob("[0-9][0-9][0-9]_*.txt"))


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace `old` by `new` in `text` (first `count` times); assert that `old` is there."""
    assert old in text, f"edit: {old!r} not found in the text"
    return text.replace(old, new, count)


# ---------------------------------------------------------------------------------------------
# Seed lines → blocks


_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^([-*•·])\s+(.*)$")
_INDENTED_NUMBER = re.compile(r"^(\d{1,2})[.)]\s+(.*)$")
_NUMBERED_HEADING = re.compile(
    r"^(?:(\d{1,2}(?:\.\d{1,2})*)(?:\.\s*|\s+)|([a-z])\.\s*|\((\d{1,2})\)\s*)(\D.*)$")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_SKIP_LINK = re.compile(r"^skip to (?:the )?(?:main )?content$", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class _Block:
    """One rendered unit: a heading (level >= 1), a paragraph (level 0) or a list item (depth)."""

    def __init__(self, kind: str, text: str, level: int = 0, ordered: bool = False):
        self.kind = kind  # "heading" | "p" | "li"
        self.text = text
        self.level = level  # heading level, or list depth (0 = top-level item)
        self.ordered = ordered


def _title_like(line: str) -> bool:
    words = line.split()
    if not 1 <= len(words) <= 8 or any(c in line for c in "@:,©"):
        return False
    if not line[0].isupper():
        return False
    long_words = [w for w in words if len(w) > 3] or words
    capitalised = sum(1 for w in long_words if w[0].isupper())
    return capitalised / len(long_words) >= 0.6


def _blocks(text: str) -> list[_Block]:
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n"), count=1)
    blocks: list[_Block] = []
    last_numbered_level = 1
    first = True
    for raw in text.split("\n"):
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if _SKIP_LINK.match(line):  # archived page chrome; render_policy adds its own skip link
            continue
        md = _MD_HEADING.match(line)
        if md:
            level = min(len(md.group(1)), 4)
            blocks.append(_Block("heading", md.group(2).strip(), level))
            last_numbered_level = level
            first = False
            continue
        bullet = _BULLET.match(line)
        if bullet:
            blocks.append(_Block("li", bullet.group(2), indent // 2))
            first = False
            continue
        numbered_item = _INDENTED_NUMBER.match(line)
        if indent >= 2 and numbered_item:
            blocks.append(_Block("li", numbered_item.group(2), indent // 2 - 1, ordered=True))
            continue
        if first and len(line) <= 80:
            blocks.append(_Block("heading", line, 1))
            first = False
            continue
        first = False
        short = len(line) <= 120 and line[-1] not in ".;,"
        numbered = _NUMBERED_HEADING.match(line)
        if short and indent == 0 and numbered:
            digits, letter, paren, _rest = numbered.groups()
            if digits:
                level = 1 + digits.count(".") + 1
                last_numbered_level = level
            else:  # `a.` / `(1)`: one level below the last numbered heading
                level = last_numbered_level + 1
            blocks.append(_Block("heading", line, min(level, 4)))
            continue
        if short and indent == 0 and _title_like(line):
            blocks.append(_Block("heading", line, min(last_numbered_level + 1, 3) if blocks else 2))
            continue
        blocks.append(_Block("p", line))
    return blocks


# ---------------------------------------------------------------------------------------------
# Inline text → HTML


def _cf_email_hex(address: str, key: int) -> str:
    """Cloudflare's e-mail obfuscation: key byte, then each byte XOR key, all in hex."""
    return f"{key:02x}" + "".join(f"{b ^ key:02x}" for b in address.encode())


def _typographic(text: str) -> str:
    text = re.sub(r'"(\S[^"]*?)"', "\u201c\\1\u201d", text)
    text = re.sub(r"(\w)'(\w)", "\\1\u2019\\2", text)
    text = re.sub(r"\b(e\.g\.|i\.e\.|etc\.) ", "\\1\u00a0", text)
    text = re.sub(r"(\d) (days|months|years|hours)\b", "\\1\u00a0\\2", text)
    return re.sub(r"\b(infor)(mation)\b", "\\1\u00ad\\2", text)


def _inline(text: str, rng: random.Random, noise: int, typography: bool) -> str:
    """Escape text, turning Markdown links and e-mail addresses into (noisy) links."""
    if typography:
        text = _typographic(text)
    out: list[str] = []
    pos = 0
    tokens = sorted([(m.start(), m.end(), "link", m) for m in _MD_LINK.finditer(text)]
                    + [(m.start(), m.end(), "email", m) for m in _EMAIL.finditer(text)],
                    key=lambda t: t[0])
    for start, end, kind, match in tokens:
        if start < pos:
            continue
        out.append(html.escape(text[pos:start], quote=False))
        if kind == "link":
            target = f"{match.group(2)}?utm_source=policy&utm_medium=web&sid={rng.getrandbits(32):08x}"
            out.append(f'<a href="{html.escape(target)}" data-track="{noise}">'
                       f"{html.escape(match.group(1), quote=False)}</a>")
        elif noise % 2:
            address = match.group(0)
            key = 1 + noise % 250
            out.append(f'<a href="/cdn-cgi/l/email-protection#{_cf_email_hex(address, key)}">'
                       f'<span class="__cf_email__" data-cfemail="{_cf_email_hex(address, key)}">'
                       "[email&#160;protected]</span></a>")
        else:
            out.append(f'<a href="mailto:{html.escape(match.group(0))}">'
                       f"{html.escape(match.group(0), quote=False)}</a>")
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# The page


_BANNER_TEXTS = [
    "We use cookies to improve your experience. By clicking Accept you agree to our use of cookies.",
    "This site uses cookies and similar technologies for analytics and personalised advertising.",
    "We and our 842 partners store and access information on your device. Manage your choices.",
    "Cookies help us deliver our services. Choose which cookies you allow.",
]
_NAV_ITEMS = ["Home", "Products", "Pricing", "Blog", "Careers", "Help Center", "Press", "Developers"]


def _cookie_banner(noise: int, rng: random.Random) -> str:
    text = html.escape(_BANNER_TEXTS[noise % len(_BANNER_TEXTS)])
    buttons = ('<button type="button">Accept all</button> <button type="button">Reject</button> '
               f'<a href="/cookies?consent_id={rng.getrandbits(40):010x}">Cookie settings</a>')
    flavour = noise % 3
    if flavour == 0:
        return f'<div id="onetrust-banner-sdk" class="otFlat"><p>{text}</p>{buttons}</div>'
    if flavour == 1:
        return f'<div class="cookie-consent cookie-banner--bottom"><p>{text}</p>{buttons}</div>'
    return (f'<div role="dialog" aria-label="Cookie consent" aria-modal="true">'
            f"<p>{text}</p>{buttons}</div>")


def _policy_html(blocks: list[_Block], style: str, rng: random.Random, noise: int,
                 typography: bool) -> list[str]:
    para_tag = "div" if style == "divs" else "p"
    lines: list[str] = []
    open_lists: list[tuple[str, int]] = []  # (ul/ol, the seed's indentation level); each has an open <li>

    def close_lists(to_depth: int) -> None:
        while len(open_lists) > to_depth:
            lines.append("  " * (len(open_lists) - 1) + f"</li></{open_lists.pop()[0]}>")

    for block in blocks:
        content = _inline(block.text, rng, noise, typography)
        if block.kind == "li":
            tag = "ol" if block.ordered else "ul"
            while open_lists and open_lists[-1][1] > block.level:  # back out of deeper lists
                close_lists(len(open_lists) - 1)
            if open_lists and open_lists[-1][1] == block.level and open_lists[-1][0] != tag:
                close_lists(len(open_lists) - 1)
            if open_lists and open_lists[-1][1] == block.level:  # a sibling item
                lines.append("  " * (len(open_lists) - 1) + "</li>")
            else:  # a (nested) list starts: it lives inside the parent's open <li>
                lines.append("  " * len(open_lists) + f'<{tag} class="list-{tag}">')
                open_lists.append((tag, block.level))
            lines.append("  " * len(open_lists) + f"<li>{content}")
            continue
        close_lists(0)
        if block.kind == "heading":
            if style == "bold":
                lines.append(f'<div class="title"><b>{content}</b></div>')
            else:
                anchor = re.sub(r"[^a-z0-9]+", "-", block.text.lower()).strip("-")[:40]
                lines.append(f'<h{block.level} id="{anchor}">{content}</h{block.level}>')
        else:
            lines.append(f"<{para_tag}>{content}</{para_tag}>")
    close_lists(0)
    return lines


def render_policy(text: str, *, style: str = "headings", noise: int = 0, banner: bool = True,
                  wrap: int | None = None, notice: bool = False, typography: bool = False) -> str:
    """Build a full HTML document around the policy `text` (see the module docstring)."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    rng = random.Random(noise)
    build_id = f"{rng.getrandbits(64):016x}"
    nav_items = _NAV_ITEMS[: 4 + noise % 5]
    year = 2024 + noise % 3
    blocks = _blocks(text)
    title = next((b.text for b in blocks if b.kind == "heading"), "Privacy Policy")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)} | Example</title>",
        f'<meta name="build-id" content="{build_id}">',
        f'<meta name="csrf-token" content="{rng.getrandbits(128):032x}">',
        f'<meta property="og:image" content="https://cdn{noise}.example-static.com/og.png?v={noise}">',
        f'<link rel="stylesheet" href="/static/app.{build_id[:8]}.css">',
        "<style>.cookie-consent{position:fixed;bottom:0}.sr-only{display:none}</style>",
        f'<script>window.__BUILD_ID__="{build_id}";window.dataLayer=[{{"sid":"{rng.getrandbits(32):x}"}}];'
        "</script>",
        "</head>",
        '<body class="page-privacy">',
        '<a class="skip-link" href="#main">Skip to main content</a>',
        '<header class="site-header">',
        f'<a href="/?ref=logo&amp;utm_source=header{noise}">'
        f'<img src="https://cdn{noise}.example-static.com/logo.svg" alt="Example logo"></a>',
        '<nav aria-label="Main">',
        "<ul>",
        *[f'<li><a href="/{item.lower().replace(" ", "-")}?utm_source=nav&amp;utm_campaign=c{noise}">'
          f"{item}</a></li>" for item in nav_items],
        "</ul>",
        "</nav>",
        "</header>",
    ]
    if banner:
        out.append(_cookie_banner(noise, rng))
    out.append('<main id="main">')
    if notice:
        out.append('<div class="notice-banner" role="status"><p>We updated our Privacy Policy on '
                   f'{["March", "June", "October"][noise % 3]} {1 + noise % 28}. '
                   '<a href="/privacy/changes">See what changed</a></p></div>')
    out.append(f'<div class="sr-only" aria-hidden="true">Page view {rng.getrandbits(24):x}</div>')
    out.append(f'<div hidden>Experiment bucket {noise % 7}</div>')
    out.append(f'<article class="policy" data-version="{rng.getrandbits(16)}">')
    out.extend(_policy_html(blocks, style, rng, noise, typography))
    out.append(f'<img src="https://cdn{noise}.example-static.com/divider.png" '
               f'data-src="/img/d{noise}.png" alt="">')
    out.append("</article>")
    out.append("</main>")
    out.append('<aside class="related"><h2>Related</h2><p><a href="/terms">Terms of Service</a></p></aside>')
    out.append(f'<footer><p>&copy; {year} Example Inc. All rights reserved.</p>'
               f'<p><a href="/privacy?ref=footer{noise}">Privacy</a> · '
               '<a href="/terms">Terms</a></p></footer>')
    out.append(f'<script src="/static/app.{build_id[:8]}.js" async></script>')
    out.append(f"<script>gtag('config','G-{rng.getrandbits(24):X}');</script>")
    out.append("</body>")
    out.append("</html>")
    page = "\n".join(out) + "\n"
    return _rewrap(page, wrap) if wrap else page


_TAG_OR_TEXT = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<[^>]*>)", re.S | re.I)


def _rewrap(page: str, width: int) -> str:
    """Re-wrap the text between tags at `width` columns: only whitespace changes, never in tags."""
    out: list[str] = []
    column = 0
    for piece in _TAG_OR_TEXT.split(page):
        if not piece:
            continue
        if piece.startswith("<"):
            out.append(piece)
            newline = piece.rfind("\n")
            column = len(piece) - newline - 1 if newline >= 0 else column + len(piece)
            continue
        words = re.split(r"( +)", piece)
        for word in words:
            if word.startswith(" ") and column >= width:
                out.append("\n    ")
                column = 4
                continue
            out.append(word)
            newline = word.rfind("\n")
            column = len(word) - newline - 1 if newline >= 0 else column + len(word)
    return "".join(out)
