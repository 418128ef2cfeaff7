"""What on an HTML page is not the policy: page chrome, hidden elements, banners (rules for monitor.capture.normalize).

`is_dropped(tag, facts)` answers for one element below the chosen content root; the rules are listed
in monitor.capture.normalize's docstring. Every size guard here protects real policy text from a rule that
guesses from names (a "Cookie notice" section is not a cookie banner).

Elements are lxml's. Texts are told apart as BeautifulSoup's tree (read here before the port to lxml)
told them, so that the output stayed byte-identical: `benchmarks/bench_normalize.py --compare` checks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import islice

from lxml import etree

from monitor.capture.html_tree import Tag as Tag  # re-exported: normalize reads it here

_DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "frame", "frameset", "object",
    "embed", "canvas", "video", "audio", "map", "img", "picture", "source", "track", "head", "title",
    "meta", "link", "nav", "aside", "input", "select", "option", "optgroup", "textarea", "datalist",
    "output", "progress", "meter", "dialog", "base",
})
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog",
                         "alertdialog", "toolbar", "menubar", "tablist", "tooltip"})
# Tags whose name alone brings a rule below into play; any other tag without attributes is never dropped
# (every other rule reads an attribute: role, hidden, style, id, class, href, aria-*), and most tags have none.
_RULED_BY_NAME = frozenset({"header", "footer", "form", "button"})
_NOTICE_ROLES = frozenset({"alert", "status", "marquee", "log", "timer"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)", re.I)
_SCREEN_READER_ONLY = re.compile(
    r"(?:^|\s)(?:sr-only|visually-hidden|visuallyhidden|screen-reader-text|screen-reader-only|"
    r"screenreader|a11y-hidden|element-invisible|assistive-text|offscreen)(?:\s|$)", re.I)
_REVEALABLE = re.compile(r"accordion|collaps|tab-?pane|tab-?panel|tab-?content|expand|read-?more|more-?content|"
                         r"disclosure", re.I)
_NEVER_REVEALED = re.compile(r"cookie|consent|gdpr|modal|popup|dialog|overlay|tooltip", re.I)
# Consent-management vendors' names, at the start of a name or after `-`/`_` (never inside a word:
# an anchor id like "3-entrusted-processing" is not TrustArc).
_CMP_VENDOR = re.compile(
    r"(?:^|[\s_-])(?:onetrust|optanon|ot-sdk|didomi|cookiebot|cybotcookiebot|truste|trustarc|usercentrics|"
    r"quantcast|qc-cmp|osano|iubenda|cookieyes|cky-consent|termly|complianz|cmplz|borlabs|sp_message|"
    r"sp-message|cmpbox|cmpwrapper|cmp-banner|cmp-consent|klaro|tarteaucitron|axeptio|consentmanager|"
    r"cookie-law-info|cookielawinfo|moove_gdpr|cc-window|cc-banner|cookieconsent|evidon|fides-|"
    r"truendo|civiccookie|ccc-notify|cookie-script|cookiefirst|cookiehub|cookieinformation|"
    r"coi-banner|shopify-pc__banner|consent_blackbar|fc-consent-root|sliding-popup)", re.I)
_CONSENT_WORD = re.compile(r"cookies?|consent|gdpr|ccpa", re.I)
_BANNER_WORD = re.compile(r"banner|bar|notice|notification|popup|pop-up|modal|dialog|overlay|prompt|alert|"
                          r"wall|message|msg|layer|window|consent|accept|sdk|widget|disclaimer|compliance",
                          re.I)
_NOTICE_TOKEN = re.compile(
    r"^(?:[a-z0-9]+[-_])*(?:banner|notice|notices|announcement|announcements|announce|alert|alerts|"
    r"toast|snackbar|notification|notifications|promo|ribbon|infobar|sitewide|interstitial)"
    r"(?:[-_][a-z0-9]+)*$", re.I)
_NOT_A_NOTICE = re.compile(r"privacy|legal|policy|collection|hero|page-?title|content", re.I)
# In-page links that are chrome: skip links, "back to top", heading permalinks (`#`, `¶`, `🔗`).
_SKIP_LINK_TEXT = re.compile(
    r"^(?:skip|jump)\b.{0,40}$|^(?:(?:back|return|scroll|go) to (?:the )?)?top\b\W*$|^[^\w]{0,3}$", re.I)
# Without main/article, page chrome is only recognisable by its class or id (guarded by size).
_BOILERPLATE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:[a-z]*nav|navbar|navigation|[a-z]*menu|breadcrumbs?|sidebar|masthead|topbar|social|"
    r"related|newsletter|subscribe|pagination)(?:$|[\s_-])", re.I)
_PAGE_FRAME_CLASS = re.compile(
    r"(?:^|\s)(?:(?:site|page|global|main|top|bottom)[-_]?)?(?:header|footer)(?:[-_][a-z]+)?(?:$|\s)|copyright", re.I)
_CONTAINER_TAGS = frozenset({"div", "section", "ul", "ol", "table", "td", "header", "footer", "center"})
_SHARE_WIDGET = re.compile(r"(?:^|[\s_-])(?:share|sharing|social|sharedaddy|addtoany|a2a_kit|sharethis|"
                           r"share-?buttons|social-?links)(?:$|[\s_-])", re.I)
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def attr_text(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    # `class` is a list of words (BeautifulSoup split it on any whitespace and the rules read it joined by spaces)
    return " ".join(value.split()) if name == "class" else value


def _id_class(tag: Tag) -> str:
    return f"{attr_text(tag, 'id')} {attr_text(tag, 'class')}".strip()


# Text that is not the page's visible text: inside a script, style, template or ruby annotation (at any depth:
# BeautifulSoup typed such strings apart when it parsed them), or directly inside noscript, head or title.
_STRING_CONTAINERS = ("script", "style", "template", "rt", "rp")
_INVISIBLE_PARENTS = ("noscript", "head", "title")
_PLAIN_TEXT = etree.XPath(
    ".//text()[not(ancestor::script or ancestor::style or ancestor::template or ancestor::rt or ancestor::rp)]",
    smart_strings=False)


_ASCII_SPACE = bytes(c for c in range(128) if chr(c).isspace())  # what str.split() splits ASCII text on
# ...and the other characters it splits on (every code point whose str.isspace() is true; a test checks the list)
OTHER_SPACES = ("\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                "\u2028\u2029\u202f\u205f\u3000")


# All the text under an element, joined by libxml2 in one call: the same string as "".join(itertext()), without
# a Python object per text node (~5x faster on a corpus page, where this ran over the whole body and main)
_ALL_TEXT = etree.XPath("string()", smart_strings=False)


def _non_space(text: str) -> int:
    """len("".join(text.split())): the characters that are not whitespace (str.isspace)."""
    if text.isascii():  # a whole article's text: one C pass deleting spaces, ~10x splitting it into words
        return len(text.encode("ascii").translate(None, _ASCII_SPACE))
    # Mostly ASCII with a few other characters (a `’`, an `é`): the ASCII part as above, the rest counted less
    # the other whitespace (a third less than splitting the text into words)
    ascii_part = text.encode("ascii", "ignore")
    other_spaces = sum(text.count(space) for space in OTHER_SPACES if space in text)  # (a regex: ~2x as long)
    return len(ascii_part.translate(None, _ASCII_SPACE)) + len(text) - len(ascii_part) - other_spaces


def text_length(tag: Tag) -> int:
    """Characters of visible text (scripts' JSON and styles do not count), whitespace excluded."""
    if tag.tag in _STRING_CONTAINERS or has_ancestor(tag, *_STRING_CONTAINERS):
        return 0
    # All the text, less what is not visible (rare in content: one cheap pass in C, then a few subtractions)
    length = _non_space(_ALL_TEXT(tag))
    hiding = tag.iterdescendants(_STRING_CONTAINERS + _INVISIBLE_PARENTS)
    for inner in ([tag, *hiding] if tag.tag in _INVISIBLE_PARENTS else hiding):
        if inner is not tag and any(a.tag in _STRING_CONTAINERS for a in _ancestors_below(inner, tag)):
            continue  # inside a script/template/… already taken off
        if inner.tag in _STRING_CONTAINERS:
            length -= _non_space(_ALL_TEXT(inner))
        else:  # only the texts whose parent it is
            length -= _non_space("".join([inner.text or "", *(child.tail or "" for child in inner)]))
    return length


def _ancestors_below(tag: Tag, top: Tag) -> Iterator[Tag]:
    for ancestor in tag.iterancestors():
        if ancestor is top:
            return
        yield ancestor


def plain_words(tag: Tag) -> str:
    """The text of `tag` as words joined by single spaces (scripts, styles, ruby annotations left out)."""
    return " ".join(" ".join(_PLAIN_TEXT(tag)).split())


def heading_count(tag: Tag) -> int:
    return sum(1 for _ in tag.iterdescendants(HEADING_TAGS))


def has_descendant(tag: Tag, *names: str) -> bool:
    return next(tag.iterdescendants(names), None) is not None


def has_ancestor(tag: Tag, *names: str) -> bool:
    return next(tag.iterancestors(names), None) is not None


_PAGE_CHROME_TAGS = ("nav", "header", "footer", "aside")
_CONTENT_TAGS = ("main", "article", "section")
_CONTROLLED = etree.XPath("descendant-or-self::*/@aria-controls", smart_strings=False)
_MAINS = etree.XPath("descendant-or-self::main")
_ROLED = etree.XPath("descendant-or-self::*[@role]")
_TOP_ARTICLES = etree.XPath("descendant-or-self::article[not(ancestor::article)]")
_CHROME_OR_CONTENT = _PAGE_CHROME_TAGS + _CONTENT_TAGS


def _top_chrome(top: Tag) -> list[Tag]:
    """The nav/header/footer/aside elements at or under `top` that are inside none of those nor of a main, article
    or section, in document order (as an XPath asking each element for its ancestors, ~10x slower, found them)."""
    return [tag for tag in top.iter(_PAGE_CHROME_TAGS) if not has_ancestor(tag, *_CHROME_OR_CONTENT)]


class PageFacts:
    """Per-document facts the drop rules need."""

    def __init__(self, document: Sequence[Tag] = ()):
        """`document`: the page's top-level elements (a page can have a second <html> after `</html>`)."""
        self.controlled_ids: set[str] = set()
        self.mains: list[Tag] = []  # candidates for the main content, in document order
        self.role_mains: list[Tag] = []
        self.articles: list[Tag] = []  # top-level ones only
        self.page_chrome: list[Tag] = []  # page-level nav/header/footer/aside (not inside content)
        for top in document:  # XPath: one pass in C per question, in document order
            for value in _CONTROLLED(top):
                self.controlled_ids.update(value.split())
            self.mains += _MAINS(top)
            self.articles += _TOP_ARTICLES(top)
            self.page_chrome += _top_chrome(top)
            self.role_mains += [tag for tag in _ROLED(top) if attr_text(tag, "role").lower() == "main"]
        self.policy_started = False  # a paragraph/list/table was emitted: notices now are content
        self.whole_body = False  # no main content element: guess boilerplate from class names too


def is_hidden(tag: Tag, ctx: PageFacts) -> bool:
    hidden = (tag.get("hidden") is not None and attr_text(tag, "hidden").lower() != "until-found") \
        or attr_text(tag, "aria-hidden").lower() == "true" \
        or bool(_HIDDEN_STYLE.search(attr_text(tag, "style")))
    if not hidden:
        return False
    # Collapsed accordion/tab panels hold policy text the reader can reveal: keep them.
    names = _id_class(tag)
    revealable = (attr_text(tag, "id") in ctx.controlled_ids
                  or attr_text(tag, "role").lower() in ("tabpanel", "region")
                  or bool(_REVEALABLE.search(attr_text(tag, "class"))))
    return not revealable or bool(_NEVER_REVEALED.search(names))


def _in_content(tag: Tag) -> bool:
    """A header/footer inside main/article/section belongs to the content (title, dates)."""
    return has_ancestor(tag, *_CONTENT_TAGS)


def _consent_and_banner_word(token: str) -> bool:
    """`cookie-banner`, `eu-cookie-compliance`, "Cookie consent": two different words, one of each kind."""
    consent = [m.span() for m in _CONSENT_WORD.finditer(token)]
    if not consent:
        return False
    banner = [m.span() for m in _BANNER_WORD.finditer(token)]
    return any(b_end <= c_start or b_start >= c_end for c_start, c_end in consent for b_start, b_end in banner)


def _is_consent_banner(tag: Tag, names: str) -> bool:
    names = f"{names} {attr_text(tag, 'aria-label')}".strip()
    if not names:
        return False
    if _CMP_VENDOR.search(names):
        return True
    if not _CONSENT_WORD.search(names):  # no token can have one either (most elements: one search, not one a token)
        return False
    if not any(_consent_and_banner_word(token) for token in names.split() + [attr_text(tag, "aria-label")]):
        return False
    # A policy's own "Cookie notice" section has a heading and real text: keep it.
    length = text_length(tag)
    return length < 3000 and (heading_count(tag) == 0 or length < 800)


def _is_notice(tag: Tag, names: str, role: str, ctx: PageFacts) -> bool:
    if role in _NOTICE_ROLES:
        pass
    elif ctx.policy_started or not any(_NOTICE_TOKEN.match(t) and not _NOT_A_NOTICE.search(t)
                                       for t in names.split()):
        return False
    return text_length(tag) <= 400 and not has_descendant(tag, "h1", "h2", "h3")


def is_dropped(tag: Tag, ctx: PageFacts) -> bool:
    """Whether `tag` (a descendant of a content root) is page chrome, hidden, or a banner."""
    name = tag.tag
    if name in _DROP_TAGS:
        return True
    if not tag.attrib and name not in _RULED_BY_NAME:
        return False
    role = attr_text(tag, "role").lower()
    if role in _DROP_ROLES:
        return True
    if name in ("header", "footer"):
        return not _in_content(tag)
    if name == "form":  # ASP.NET pages wrap everything in one <form>: keep a form holding content
        return not (heading_count(tag) or has_descendant(tag, "table")
                    or sum(1 for _ in islice(tag.iterdescendants("p"), 3)) >= 3 or text_length(tag) >= 1500)
    if name == "button":
        return not (tag.get("aria-controls") is not None or tag.get("aria-expanded") is not None
                    or has_ancestor(tag, *HEADING_TAGS))
    if name == "a" and attr_text(tag, "href").startswith("#") \
            and _SKIP_LINK_TEXT.match(plain_words(tag)):
        return True
    if tag.get("data-cfemail") is not None:
        return False  # replaced by its decoded address, see cloudflare_email
    if is_hidden(tag, ctx):
        return True
    names = _id_class(tag)
    if names and _SCREEN_READER_ONLY.search(attr_text(tag, "class")):
        return True
    if name in HEADING_TAGS:
        return False  # rules guessing from names never drop a heading (its id is the section's anchor)
    if _is_consent_banner(tag, names) or _is_notice(tag, names, role, ctx):
        return True
    # Share widgets are named by class; an id like "sharing" is a policy section's anchor.
    if _SHARE_WIDGET.search(attr_text(tag, "class")) and text_length(tag) < 300 \
            and (heading_count(tag) == 0 or text_length(tag) < 100):
        return True
    if not (ctx.whole_body and names and name in _CONTAINER_TAGS):
        return False
    if _PAGE_FRAME_CLASS.search(names):  # footers have column headings, but never an h1/h2
        return not has_descendant(tag, "h1", "h2") and text_length(tag) < 5000
    return bool(_BOILERPLATE_CLASS.search(names)) and heading_count(tag) == 0 and text_length(tag) < 1000


def cloudflare_email(tag: Tag) -> str | None:
    """Decode Cloudflare's e-mail obfuscation (`data-cfemail` or an email-protection link)."""
    encoded = attr_text(tag, "data-cfemail")
    if not encoded and tag.tag == "a" and "/cdn-cgi/l/email-protection#" in attr_text(tag, "href"):
        encoded = attr_text(tag, "href").rsplit("#", 1)[1]
    if not encoded:
        return None
    try:
        data = bytes.fromhex(encoded)
        return bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return "[email]"
