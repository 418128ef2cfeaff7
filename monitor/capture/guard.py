"""Decide whether a fetched, normalized page is plausibly the policy (not an error, captcha or stub page).

`judge()` is pure: it sees the normalized text of the new page, the previous version's text (when
there is one) and the language the source expects, and returns a `Verdict`:

- **rejected** (never a version, never an alert): empty or near-empty bodies; captcha / bot walls,
  login walls and maintenance or error pages served with 200, recognised by their phrases *on a
  short page* (a long policy that mentions "access denied" once is still a policy); a page in
  another language than the previous version (or, before the first version, than the source's
  `language`), because a re-fetch of a geo/CDN variant often agrees with itself and storing it would
  make the next right-language fetch look like a full rewrite; a page that lost nearly everything.
- **needs confirmation** (stored only if an immediate re-fetch gives the same text, see
  `pipeline._judge`): a drastic change against the previous version: more than 60% shorter, most of
  the previous headings gone, nearly every previous line gone (another document at the address), or the
  end of the policy missing. Real rewrites pass the re-fetch;
  half-loaded pages and one-off truncated captures do not.
- **accepted** otherwise.

Where the page came from counts too: a policy URL that now redirects to the site's home page (the
usual way a removed page "answers") is rejected whatever the text, and a drastic change that arrives
from another address than the previous version's is rejected instead of confirmed, since a re-fetch
of a redirect always agrees with itself.

The language detector is a small stopword count per language (18 Latin-script languages of the EU,
Turkey, Indonesia and Vietnam) plus the writing system for CJK, Cyrillic, Greek, Arabic, Hebrew, Thai
and Korean text: no model, no download.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import urlsplit

MIN_WORDS = 25              # below this no page is a policy
SHORT_PAGE_WORDS = 120      # below this a page must read like a policy to pass on its own
WALL_STRONG_MAX_WORDS = 400  # a captcha-specific phrase rejects a page up to this length
WALL_WEAK_MAX_WORDS = 200    # a generic phrase ("access denied", "sign in") only on shorter pages
SHRINK_CONFIRM = 0.60       # losing more than this fraction of the previous words needs a re-fetch
SHRINK_REJECT = 0.85        # ...and losing this much while ending up short is rejected outright
HEADINGS_MIN = 4            # the heading rule needs this many headings in the previous version
HEADINGS_KEPT_MIN = 0.40    # fewer previous headings than this fraction still present: drastic
REPLACED_LINES_MIN = 5      # the replaced-text rule needs this many lines in the previous version
REPLACED_KEPT_MAX = 0.10    # fewer of the previous lines than this fraction still present: drastic
TAIL_LOST_MIN = 0.10        # a prefix of the previous text missing at least this much of its end
LANGUAGE_MIN_HITS = 12      # stopword hits needed before a language is trusted


@dataclass(frozen=True)
class Verdict:
    """`accepted` False means rejected with `reason`; `needs_confirmation` means accept only if a re-fetch agrees.

    `rule` names the rule that decided (`empty`, `near-empty`, `captcha`, `login`, `maintenance`,
    `redirect`, `language`, `shrink`, `headings`, `replaced`, `truncated`), None when the page was accepted as is.
    """

    accepted: bool
    reason: str | None = None
    needs_confirmation: bool = False
    rule: str | None = None


# -- walls: phrases that pages which are not the policy say -----------------------------------------

# Strong phrases are specific to walls: a policy has no reason to say them.
_STRONG = {
    "captcha": (
        "verify you are a human", "verify you are human", "verifying you are human",
        "confirm you are a human", "are you a robot", "i'm not a robot", "i am not a robot",
        "not a robot", "captcha", "checking your browser", "checking if the site connection is secure",
        "just a moment", "enable javascript and cookies to continue", "ddos protection by",
        "performance & security by cloudflare", "performance and security by cloudflare",
        "cloudflare ray id", "ray id:", "unusual traffic", "automated queries", "you have been blocked",
        "why have i been blocked", "attention required", "press & hold", "press and hold",
        "pardon our interruption", "request blocked", "bot detection", "human verification",
        "please complete the security check", "incapsula incident id", "request unsuccessful",
        "zugriff verweigert", "accès refusé", "acceso denegado", "accesso negato",
    ),
    "login": (
        "sign in to continue", "log in to continue", "login to continue", "sign in to view",
        "log in to view", "you must be logged in", "you need to log in", "you need to sign in",
        "please sign in", "please log in", "session has expired", "session expired",
    ),
    "maintenance": (
        "under maintenance", "down for maintenance", "scheduled maintenance", "we'll be back soon",
        "we will be back soon", "be right back", "service unavailable", "503 service",
        "internal server error", "502 bad gateway", "bad gateway", "gateway timeout",
        "wartungsarbeiten", "en maintenance", "en mantenimiento", "in manutenzione",
        "you need to enable javascript to run this app", "please enable javascript to view",
        "this site requires javascript",
    ),
}
# Weak phrases also occur in real policies ("access denied", "sign in to your account"): they count
# only on short pages that do not read like a policy.
_WEAK = {
    "captcha": ("access denied", "forbidden", "blocked", "security check", "too many requests"),
    "login": ("sign in", "log in", "login", "forgot your password", "forgot password", "create account",
              "create an account", "password", "remember me", "keep me signed in"),
    "maintenance": (
        "page not found", "not found", "404", "500", "503", "something went wrong", "an error occurred",
        "an error has occurred", "try again later", "temporarily unavailable", "error", "oops",
        "no longer available", "does not exist", "seite nicht gefunden", "page introuvable",
        "página no encontrada", "pagina non trovata",
    ),
}
_WALL_LABEL = {"captcha": "a captcha or bot wall", "login": "a login wall",
               "maintenance": "an error or maintenance page"}

# Words that policies use in any language we know: a short page full of them is a short policy.
_POLICY_TERMS = frozenset("""
privacy personal data information collect collected collection use share shared sharing third parties
party cookies cookie retain retention store stored rights consent process processing policy protection
contact children security disclose disclosure purposes purpose delete deletion access controller law
datenschutz daten personenbezogene verarbeitung einwilligung rechte speicherung weitergabe
données personnelles confidentialité traitement consentement droits conservation
datos personales privacidad tratamiento consentimiento derechos
dati personali riservatezza trattamento consenso diritti
dados pessoais privacidade tratamento consentimento direitos
gegevens persoonsgegevens verwerking toestemming rechten bewaren
personuppgifter uppgifter integritet samtycke personoplysninger oplysninger personopplysninger personvern
dane osobowe danych prywatności zgoda údaje osobní souhlas kişisel verilerinizi veriler gizlilik
datele personal datelor confidențialitate adatait személyes adatok adatvédelmi
henkilötietojasi henkilötiedot tietosuoja pribadi privasi persetujuan dữ liệu cá nhân quyền riêng tư
""".split())
_POLICY_TERMS_CJK = ("个人信息", "隐私", "数据", "個人情報", "プライバシー", "개인정보",
                     "конфиденциальност", "персональн")

# -- language ----------------------------------------------------------------------------------------

_STOPWORDS = {
    "en": "the and of to in is that for are with as be by this or we you your our not on it from "
          "may will have which can any us if when who about".split(),
    "de": "der die das und ist nicht mit sich auf für den dem des ein eine einer wir sie ihre "
          "unsere oder auch werden wird wenn bei nach von zu im zur zum".split(),
    "fr": "le la les et des est que qui dans pour pas sur une un du au aux nous vous votre vos "
          "nos ou avec par sont être ces cette".split(),
    "es": "el la los las y de que en es por para con una un del al nos sus su como pero o "
          "este esta se lo sus usted".split(),
    "it": "il lo la gli le e di che è per con una un del della dei delle nel nella non sono "
          "come questo questa noi ci".split(),
    "pt": "o a os as e de que em é para com uma um do da dos das no na não por se nós "
          "seu sua você ao".split(),
    "nl": "de het een en van is dat die niet in op te met voor zijn wij we u uw ons onze "
          "of als bij door naar worden".split(),
    "sv": "och att är inte av till för som på med det den vi du dina ditt dig oss våra vår eller "
          "kan från har om när".split(),
    "da": "og at er ikke af til for som på med det den vi du din dine dig os vores eller kan fra "
          "har om når".split(),   # Norwegian shares most of these: one family for the detector
    "pl": "i w z na się nie do że jest to jak od po przez dla lub oraz są być może twoje twoich "
          "nasze nas".split(),
    "cs": "a v se na je že s z do k to jako pro nebo jsou být může vaše vašich naše nás jsme".split(),
    "tr": "ve bir bu için ile olarak olan veya gibi daha sizin bizim ya her değil tarafından".split(),
    "ro": "și de la în cu că pe nu este pentru sau ale al dumneavoastră noastre prin care sunt fi".split(),
    "hu": "az és hogy nem is egy meg van ha vagy ön által szerint azok amely illetve".split(),
    "fi": "ja on ei että se tai kun ovat voi myös sekä jos mukaan meidän sinun".split(),
    "id": "dan yang di untuk dengan dari ini itu atau kami anda tidak akan dapat pada oleh ke".split(),
    "vi": "và của các là cho có được không với này những trong để khi chúng tôi bạn".split(),
}
# Words several of these languages share (de, la, a, e, o, in...) count for each; the ratio between
# the best and the runner-up keeps such overlaps from deciding.
_SCRIPTS = (  # (language, its characters); japanese before chinese, which shares the han characters
    ("ja", re.compile(r"[\u3040-\u30ff]")),            # hiragana, katakana
    ("ko", re.compile(r"[\uac00-\ud7af]")),            # hangul
    ("zh", re.compile(r"[\u4e00-\u9fff]")),            # han
    ("ru", re.compile(r"[\u0400-\u04ff]")),            # cyrillic (ru, uk, bg... one family here)
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
                   "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish", "da": "Danish or Norwegian",
                   "pl": "Polish", "cs": "Czech", "tr": "Turkish", "ro": "Romanian", "hu": "Hungarian",
                   "fi": "Finnish", "id": "Indonesian", "vi": "Vietnamese", "ja": "Japanese", "ko": "Korean",
                   "zh": "Chinese",
                   "ru": "Cyrillic-script", "el": "Greek", "ar": "Arabic", "he": "Hebrew", "th": "Thai"}
_CYRILLIC_FAMILY = {"ru", "uk", "bg", "sr", "mk", "be", "kk"}
_NORWEGIAN = {"no", "nb", "nn"}

_ANY_SCRIPT = re.compile("[" + "".join(chars.pattern[1:-1] for _, chars in _SCRIPTS) + "]")
_CJK = re.compile(r"[\u3040-\u9fff\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+", re.UNICODE)
# _WORD on lower-cased ASCII text, where a letter is a-z: the same tokens, found twice as fast (most pages)
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
_TAG = re.compile(r"<[^>]{0,200}>")
_HEADING = re.compile(r"^(?:#{1,6}\s+(.+)|\*\*([^*]{2,120})\*\*)\s*$", re.MULTILINE)
_NUMBERING = re.compile(r"^\s*(?:\(?[0-9]+(?:\.[0-9]+)*\.?\)?|\(?[a-z]\)|[a-z]\.|[ivxlc]+\.)\s+", re.IGNORECASE)


def judge(text: str, *, previous: str | None = None, language: str | None = None, requested_url: str | None = None,
          final_url: str | None = None, previous_url: str | None = None) -> Verdict:
    """Judge a normalized page (and the previous version's text) before it may become a version.

    `requested_url` is the source's URL, `final_url` where redirects ended, `previous_url` where the
    previous version was fetched from; without them only the text is judged.

    >>> judge("Just a moment... Checking your browser before accessing example.org.").rule
    'captcha'
    >>> judge(policy_text).accepted                                           # doctest: +SKIP
    True
    """
    page = _Profile.of(text)
    if page.words == 0:
        return Verdict(False, "empty page: no text after normalization", rule="empty")
    old = _Profile.of(previous) if previous and previous.strip() else None

    wall = _wall(page) or _home_page(requested_url, final_url)
    if wall:
        return wall
    if page.words < MIN_WORDS:
        return Verdict(False, f"near-empty page: {_words(page.words)}, too few to be a policy", rule="near-empty")
    if page.words < SHORT_PAGE_WORDS and not page.reads_like_policy and (old is None or old.words > 2 * page.words):
        return Verdict(False, f"near-empty page: {_words(page.words)} that do not read like a privacy policy",
                       rule="near-empty")

    switched = _language_switch(page, old, language)
    if switched:
        return switched
    if old is None:
        return Verdict(True)
    cut = _cut_short(text, previous or "")
    if cut:
        return cut
    verdict = _drastic(page, old)
    redirected = final_url and requested_url and _address(final_url) != _address(requested_url)
    if verdict.needs_confirmation and redirected and previous_url and _address(final_url) != _address(previous_url):
        return Verdict(False, f"redirected to {final_url} (the previous version came from {previous_url}) and "
                              f"{verdict.reason}: the policy may have moved or been removed; if it moved, "
                              f"update `url`", rule="redirect")
    return verdict


_SENTENCE_ENDS = frozenset(".!?:;)]\"'”’»")
TRUNCATION_MISMATCHES = 2  # lines before the cut that may differ (a date, a banner) and still be a cut copy


_APP_ROOT = re.compile(
    r"<(?:div|main|section|body)\b[^>]*?\bid\s*=\s*[\"']?(root|app|__next|__nuxt|___gatsby|q-app|svelte|react-root|"
    r"app-root|application|main-app|ember-app)[\"'\s>/]|<(app-root|ion-app|flt-glass-pane)\b|\bng-app\b|"
    r"\bdata-reactroot\b", re.IGNORECASE)
_BUNDLE = re.compile(r"<script\b[^>]*?(?:\bsrc\s*=|\btype\s*=\s*[\"']?module\b)", re.IGNORECASE)


def script_shell(html: str) -> str | None:
    """What marks `html` as a single-page app's shell (an app root and script bundles), or None.

    Only meaningful for a page whose text was too short to be a policy: a server-rendered page has an
    app root too, but also its text.

    >>> script_shell('<body><div id="root"></div><script src="/static/js/main.3f2a.js"></script></body>')
    'an app root <div id="root"> and 1 script bundle'
    >>> script_shell("<body><p>Short page.</p><script src='/analytics.js'></script></body>") is None
    True
    """
    root = _APP_ROOT.search(html)
    bundles = len(_BUNDLE.findall(html))
    if root is None or bundles == 0:
        return None
    if root.group(1):
        where = f'<div id="{root.group(1)}">'
    else:
        where = f"<{root.group(2)}>" if root.group(2) else root.group(0).strip()
    return f"an app root {where} and {bundles} script bundle{'s' * (bundles != 1)}"


def _cut_short(text: str, previous: str) -> Verdict | None:
    """A capture that stops partway: every line is the previous version's, in order, up to a last line
    that breaks off inside a sentence of the previous version's line. Real archives record such
    truncated pages; a policy that really got shorter ends where a sentence ends.
    """
    new = [line.strip() for line in text.splitlines() if line.strip()]
    old = [line.strip() for line in previous.splitlines() if line.strip()]
    if not new or len(new) > len(old):
        return None
    last, broken = new[-1], old[len(new) - 1]
    if not (broken.startswith(last) and len(last) < len(broken)):
        return None
    rest = broken[len(last):]
    inside_a_word = last[-1].isalnum() and rest[0].isalnum()
    inside_a_sentence = last[-1] not in _SENTENCE_ENDS and rest.lstrip()[:1].islower()
    if not (inside_a_word or inside_a_sentence):
        return None  # the line stops where a sentence ends: a last sentence dropped is an edit, not a cut
    differing = sum(a != b for a, b in zip(new[:-1], old, strict=False))
    if differing > TRUNCATION_MISMATCHES:
        return None
    return Verdict(False, f"truncated page: the text breaks off in line {len(new)} of the previous version's "
                          f"{len(old)}", rule="truncated")


_ROOT = re.compile(r"/(?:([a-z]{2})(?:[-_][a-z]{2,4})?/?)?(?:index\.\w{2,5}|home/?)?", re.IGNORECASE)
_LOCALES = frozenset("ar bg bn cs cy da de el en es et fa fi fr ga he hi hr hu id is it ja ko lt lv ms mt nb nl no pl "
                     "pt ro ru sk sl sr sv sw th tl tr uk ur vi zh".split())


def _is_root(url: str) -> bool:
    """The root of a site or of one of its languages (/, /en/, /de-de/, /index.html), without a query."""
    parts = urlsplit(url)
    match = _ROOT.fullmatch(parts.path or "/")
    return bool(match) and not parts.query and (match.group(1) is None or match.group(1).lower() in _LOCALES)


def _home_page(requested_url: str | None, final_url: str | None) -> Verdict | None:
    """A policy URL redirected to the home page of its own site is a removed page."""
    if not requested_url or not final_url:
        return None
    same_site = _address(requested_url)[0] == _address(final_url)[0]
    if same_site and _is_root(final_url) and not _is_root(requested_url):
        return Verdict(False, f"redirected to the site's home page ({final_url}): the policy may have been "
                              f"removed or moved; if it moved, update `url`", rule="redirect")
    return None


def _address(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc.lower().removeprefix("www."), parts.path.rstrip("/") or "/"


def _wall(page: _Profile) -> Verdict | None:
    """A captcha, login or error page: decided on the page as a whole, never on one phrase in a long text."""
    if page.words > max(WALL_STRONG_MAX_WORDS, WALL_WEAK_MAX_WORDS):  # a long page is never a wall
        return None
    for kind, phrases in _STRONG.items():
        hits = [p for p in phrases if p in page.folded]
        if hits and not (page.policy_dense and len(hits) == 1):
            return Verdict(False, f"{_WALL_LABEL[kind]}, not the policy (says {hits[0]!r}; {_words(page.words)})",
                           rule=kind)
    if page.words > WALL_WEAK_MAX_WORDS or page.reads_like_policy:
        return None
    scores = {kind: [p for p in phrases if _has_phrase(page.folded, p)] for kind, phrases in _WEAK.items()}
    kind, hits = max(scores.items(), key=lambda item: len(item[1]))
    if hits:
        return Verdict(False, f"{_WALL_LABEL[kind]}, not the policy (says {hits[0]!r}; {_words(page.words)})",
                       rule=kind)
    return None


def _language_switch(page: _Profile, old: _Profile | None, expected: str | None) -> Verdict | None:
    """A page suddenly in another language is a CDN or geo variant, not a rewrite: refuse it."""
    current = page.language
    if current is None:
        return None
    wanted = _base_language(expected) if expected else None
    before = old.language if old is not None else None
    if before is not None:
        if current == before or current == wanted:
            return None  # same language, or back to the language asked for
        return Verdict(False, f"page is in {_name(current)} ({current}) but the previous version is in "
                              f"{_name(before)} ({before}): another language variant, not a new version",
                       rule="language")
    if old is None and wanted in _DETECTABLE and current != wanted:
        return Verdict(False, f"page is in {_name(current)} ({current}), the source expects {wanted}: "
                              f"set `language: {current}` for this source if that is right", rule="language")
    return None


def _drastic(page: _Profile, old: _Profile) -> Verdict:
    lost = 1 - page.words / old.words if old.words else 0.0
    if lost > SHRINK_REJECT and page.words < SHORT_PAGE_WORDS:
        return Verdict(False, f"page lost {lost:.0%} of the previous version's text ({_words(page.words)} left)",
                       rule="shrink")
    if lost > SHRINK_CONFIRM:
        return Verdict(True, f"page is {lost:.0%} shorter than the previous version", needs_confirmation=True,
                       rule="shrink")
    if len(old.headings) >= HEADINGS_MIN:
        kept = len(old.headings & page.headings) / len(old.headings)
        if kept < HEADINGS_KEPT_MIN:
            return Verdict(True, f"only {kept:.0%} of the previous version's headings are left",
                           needs_confirmation=True, rule="headings")
    if len(old.lines) >= REPLACED_LINES_MIN:
        kept = sum(line in page.line_set for line in old.lines) / len(old.lines)
        if kept < REPLACED_KEPT_MAX:  # another document at the address (the headings rule needs 4 headings)
            return Verdict(True, f"only {kept:.0%} of the previous version's lines are left: a different page?",
                           needs_confirmation=True, rule="replaced")
    if _lost_tail(page, old):
        return Verdict(True, "the end of the previous version is missing (truncated page?)",
                       needs_confirmation=True, rule="truncated")
    return Verdict(True)


def _lost_tail(page: _Profile, old: _Profile) -> bool:
    """True when the page is the previous text's beginning without its end, like a capture cut short."""
    if page.words > old.words * (1 - TAIL_LOST_MIN) or len(old.lines) < 5:
        return False
    present = [line in page.line_set for line in old.lines]
    cut = len(present) - max(1, len(present) // 5)
    head, tail = present[:cut], present[cut:]
    return sum(head) >= 0.8 * len(head) and not any(tail)


# -- page profile ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Profile:
    plain: str                  # the text without stray markup
    words: int                  # words, a CJK character pair counting as one
    policy_terms: int           # distinct policy words present
    language: str | None        # detected language, None when unsure

    @cached_property
    def folded(self) -> str:
        """Lower-cased, whitespace-collapsed text for phrase search (read only for a page short enough to be a wall)."""
        return _folded(self.plain)

    # Headings and lines are read only to compare with a previous version, and lines only for a page that
    # got shorter: worked out when first asked for (a first version never is)
    @cached_property
    def headings(self) -> frozenset[str]:
        """Heading titles without numbering, folded."""
        return frozenset(_heading_key(m.group(1) or m.group(2)) for m in _HEADING.finditer(self.plain)) - {""}

    @cached_property
    def lines(self) -> tuple[str, ...]:
        """Non-empty folded lines (for the truncation test)."""
        return tuple(" ".join(line.lower().split()) for line in self.plain.splitlines() if line.strip())

    @cached_property
    def line_set(self) -> frozenset[str]:
        return frozenset(self.lines)

    @property
    def reads_like_policy(self) -> bool:
        return self.policy_terms >= 4

    @property
    def policy_dense(self) -> bool:
        return self.policy_terms >= 8 and self.words >= 80

    @staticmethod
    def of(text: str) -> _Profile:
        return _profile(text)


@lru_cache(maxsize=64)  # the previous version is profiled on every check of a source
def _profile(text: str) -> _Profile:
    # The guard runs on normalized text; stray markup (a page the normalizer could not parse) is not words.
    plain = _TAG.sub(" ", unicodedata.normalize("NFKC", text))
    lowered = plain.lower().replace("’", "'")
    if lowered.isascii():  # most pages: no CJK, no other script
        # (the non-word characters made spaces through bytes: str.translate with a table looks every character up
        # in a dict, ~15x as long over a page)
        words = lowered.encode("ascii").translate(_BYTES_NON_WORD).decode("ascii").split()
        counts = _word_counts(words, _ASCII_WORD)
        return _Profile(plain, counts.total(), len(_POLICY_TERMS.intersection(counts)), _stopword_language(counts))
    data = lowered.encode("utf-8", "surrogatepass")
    runs = Counter(data.translate(_BYTES_NON_WORD).split())  # split at ASCII bytes: each run is whole UTF-8
    counts = _word_counts(b" ".join(runs).decode("utf-8", "surrogatepass").split(" "), _WORD, runs.values())
    if not data.translate(None, _BELOW_U0340):  # no character from U+0340 on: no CJK, no other writing system
        return _Profile(plain, counts.total(), len(_POLICY_TERMS.intersection(counts)), _stopword_language(counts))
    folded = _folded(plain)
    cjk = len(_CJK.findall(folded))
    # a token of CJK characters is not a word (their pairs are counted instead)
    words = (sum(n for token, n in counts.items() if not _is_cjk(token[0])) if cjk else counts.total()) + cjk // 2
    cjk_terms = sum(1 for term in _POLICY_TERMS_CJK if term in folded)
    profile = _Profile(plain, words, len(_POLICY_TERMS.intersection(counts)) + 2 * cjk_terms,
                       _detect_language(counts, folded))
    profile.__dict__["folded"] = folded  # worked out already (cached_property's own slot)
    return profile


def _folded(plain: str) -> str:
    return " ".join(plain.lower().replace("’", "'").split())


# Every ASCII byte that cannot be part of a word token (_WORD, _ASCII_WORD) made a space; the other bytes (UTF-8
# of any other character) left as they are
_NON_WORD_BYTES = bytes(c for c in range(128) if not (chr(c) in "'0123456789" or "a" <= chr(c) <= "z"))
_BYTES_NON_WORD = bytes.maketrans(_NON_WORD_BYTES, b" " * len(_NON_WORD_BYTES))
_BELOW_U0340 = bytes(range(0xCD))  # deleted from UTF-8, what is left are lead bytes of U+0340 and above


def _word_counts(runs: list[str], word: re.Pattern[str], times: Iterable[int] | None = None) -> Counter[str]:
    """How often each `word` token occurs in a lower-cased text, given its runs of characters between ASCII
    characters that no token holds (with how often each occurs, `times`, when the runs are distinct): the regex
    runs only over a run that is not one token as it is (all letters, or all decimal digits: most of them, split
    apart in C); over a whole page it took 3 to 4 times as long."""
    counts = Counter(dict(zip(runs, times, strict=True)) if times is not None else runs)
    mixed = [run for run in counts if not (run.isalpha() or run.isdecimal())]  # `don't`, `1st`, `'quoted'`, `a·b`
    for run in mixed:
        n = counts.pop(run)
        for token in word.findall(run):
            counts[token] += n
    return counts


def _heading_key(title: str) -> str:
    return " ".join(_WORD.findall(_NUMBERING.sub("", title.strip()).lower()))


def _has_phrase(folded: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded) is not None


def _is_cjk(char: str) -> bool:
    return "\u3040" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"


def _words(count: int) -> str:
    return f"{count} word{'s' * (count != 1)}"


def detect_language(text: str) -> str | None:
    """The main language of a text ('en', 'de', 'zh', ...), or None when there is too little evidence.

    >>> detect_language("Wir verarbeiten Ihre Daten nur, wenn Sie uns Ihre Einwilligung geben und die Verarbeitung "
    ...                 "für die Erfüllung eines Vertrags mit Ihnen erforderlich ist oder wir dazu gesetzlich "
    ...                 "verpflichtet sind.")
    'de'
    >>> detect_language("Wir verarbeiten Ihre Daten nur, wenn Sie uns Ihre Einwilligung geben.") is None
    True
    """
    return _profile(text).language


def _detect_language(counts: Counter[str], folded: str) -> str | None:
    if not folded.isascii():  # only then can another writing system be the main one
        # (a Latin page with a "©" holds none: one search instead of one count per script, and the
        # letters, a count over the whole text, are counted only when a script could be the main one)
        present = _ANY_SCRIPT.search(folded) is not None
        scripts = {language: len(chars.findall(folded)) if present else 0 for language, chars in _SCRIPTS}
        language = max(scripts, key=scripts.__getitem__)
        count = scripts[language] + (scripts["zh"] if language == "ja" else 0)
        if count >= 20:
            letters = _LETTER.subn("", folded)[1]  # a count, no list
            if count >= 0.3 * letters:
                return "ja" if scripts["ja"] >= 0.05 * letters else language
    return _stopword_language(counts)


def _stopword_language(counts: Counter[str]) -> str | None:
    """The language whose stopwords a text's word counts hold clearly most of, None when unsure."""
    hits = {language: sum(counts[w] for w in words) for language, words in _STOPWORDS.items()}
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, best_hits), (_, second_hits) = ranked[0], ranked[1]
    if best_hits < LANGUAGE_MIN_HITS or best_hits < 1.5 * second_hits:
        return None
    return best


_DETECTABLE = frozenset(_STOPWORDS) | {language for language, _ in _SCRIPTS}


def _base_language(code: str) -> str:
    """'en-US' → 'en', 'zh-Hans' → 'zh', 'uk' → 'ru' (one Cyrillic family for the detector)."""
    base = code.replace("_", "-").split("-")[0].strip().lower()
    if base in _CYRILLIC_FAMILY:
        return "ru"
    return "da" if base in _NORWEGIAN else base


def _name(code: str) -> str:
    return _LANGUAGE_NAMES.get(code, code)
