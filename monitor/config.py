"""Load and validate sources.yaml: every problem reported with file, line and field; secrets only from env."""

from __future__ import annotations

import logging
import os
import re
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError, ConfigNotFoundError, Problem, UsageError
from monitor.meaning.model import primary_language
from monitor.meaning.names import TOPICS, WATCHED
from monitor.store.url_password import holds_password

DEFAULT_CONFIG_PATH = "sources.yaml"
DEFAULT_DATABASE = "sqlite:///policy-monitor.db"
# Literal secrets are refused: they would end up in version control, backups and logs.
SECRET_KEYS = {"password", "secret", "token", "api_key", "apikey", "passwd"}
_SECRET_HINT = {"password": "`password_env:` (under smtp)", "passwd": "`password_env:` (under smtp)",
                "secret": "`secret_env:` (webhook channels)"}
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
# user:password@host, or a password in the query string (libpq takes `?password=` too)
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30, None: 1}


def parse_delay(value: Any) -> float:
    """Like parse_duration, but zero is allowed (e.g. no politeness delay between requests)."""
    if str(value).strip() in ("0", "0s", "0ms"):
        return 0.0
    return parse_duration(value)


def parse_duration(value: Any) -> float:
    """'30m' → 1800.0 seconds. Accepts ms, s, m, h, d, w, or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 30m, 6h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration; use e.g. 30s, 30m, 6h or 1d")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return seconds


def parse_size(value: Any) -> int:
    """'10MB' → 10_000_000 bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 500KB or 10MB")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a size; use e.g. 500KB or 10MB")
        unit = match.group(2).lower() if match.group(2) else None
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError("a size must be greater than zero")
    return size


def _check_selector(selector: str) -> str:
    from monitor.capture.css import css_to_xpath  # only configs with selectors pay for cssselect's import

    try:
        css_to_xpath(selector)
    except Exception as exc:  # cssselect raises SelectorSyntaxError, ExpressionError (unsupported pseudo-classes)
        raise ValueError(f"invalid CSS selector {selector!r}: {str(exc).splitlines()[0]}") from None
    return selector


Duration = Annotated[float, BeforeValidator(parse_duration)]
Delay = Annotated[float, BeforeValidator(parse_delay)]
Size = Annotated[int, BeforeValidator(parse_size)]
Selector = Annotated[str, BeforeValidator(_check_selector)]


# everything before the last "@" of the authority is user information (a password may hold spaces and "@")
_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*@)")


def shown_url(url: str) -> str:
    """A configured URL as a message may quote it: any `user:password@` replaced by `***@`."""
    return _USER_INFO.sub(r"\1***@", url)


_HTTP_URL = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)


def is_http_url(url: str) -> bool:
    """Whether `url` is an http(s) address with a host: what a source, a webhook or `web.base_url` must be (a
    webhook's `url_env` value is asked the same at send time)."""
    return _HTTP_URL.match(url) is not None


def _check_http_url(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    if not is_http_url(url):
        raise ValueError(f"{shown_url(url)!r} is not an http(s) URL")
    if _USER_INFO.match(url):  # it would be stored, shown, logged and sent in alerts with the URL
        raise ValueError(f"{shown_url(url)!r} holds a user name or password before `@`: secrets go in environment "
                         "variables, never in the config (a webhook: name a variable holding its whole address "
                         "in `url_env:`)")
    return url


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]

# A well-formed BCP 47 (RFC 5646) language tag: a primary subtag of 2–3 letters (up to three extlangs), then
# script, region, variants, extensions and private use. `_` is read as `-`, as primary_language reads it
# (`en_US` is how locales spell it). Checked here because a word such as `english` would otherwise be read
# as a language without a topic model: every change of the source stored unrated, and none ever alerting.
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z]{3}){0,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|\d{3}))?"
                           r"(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*(?:-[\da-wyz](?:-[a-z\d]{2,8})+)*"
                           r"(?:-x(?:-[a-z\d]{1,8})+)?", re.IGNORECASE)
# RFC 5646 §2.2.1: a language with a two-letter code (ISO 639-1) takes it, never its three-letter ISO 639-2/3
# codes (terminology and bibliographic); the topic model and the guard know only the two-letter one, so `eng`
# would leave every change unrated. The languages guard's detector tells apart, by two-letter code; `nor` would
# be `no`, but it gets `nb`, as the name Norwegian does (`_tags_of_names`).
_TWO_LETTER_OF = {three: two for two, threes in {
    "en": "eng", "de": "deu ger", "fr": "fra fre", "es": "spa", "it": "ita", "pt": "por", "nl": "nld dut",
    "sv": "swe", "da": "dan", "nb": "nor nob", "nn": "nno", "pl": "pol", "cs": "ces cze", "tr": "tur",
    "ro": "ron rum", "hu": "hun", "fi": "fin", "id": "ind", "vi": "vie", "ja": "jpn", "ko": "kor",
    "zh": "zho chi", "ru": "rus", "uk": "ukr", "bg": "bul", "sr": "srp", "mk": "mkd mac", "be": "bel",
    "kk": "kaz", "el": "ell gre", "ar": "ara", "he": "heb", "th": "tha",
}.items() for three in threes.split()}
# RFC 5646 §2.2.2: codes ISO 639 withdrew, which the registry keeps as deprecated, the model and guard knowing
# neither: every change would be stored unrated. Refused with the code that replaced each.
_DEPRECATED = {"iw": "he", "in": "id", "ji": "yi"}


def _check_language(tag: str) -> str:
    tag = tag.strip()
    if not _LANGUAGE_TAG.fullmatch(tag.replace("_", "-")):
        raise ValueError(f"{tag!r} is not a language tag; use a BCP 47 tag such as en, de-AT or zh-Hans"
                         + (f"; did you mean {suggestion!r}?" if (suggestion := _tag_of_name(tag)) else ""))
    primary = primary_language(tag)
    if current := _DEPRECATED.get(primary):
        raise ValueError(f"{tag!r} is a withdrawn language code: use {current + tag[len(primary):]!r}")
    if two := _TWO_LETTER_OF.get(primary):
        name = next((name for name, code in _tags_of_names().items() if code == two), None)
        raise ValueError(f"{tag!r} is not a BCP 47 tag" + f" for {name}" * bool(name)
                         + f": use {two + tag[len(primary):]!r}")
    return tag


@lru_cache(maxsize=1)
def _tags_of_names() -> dict[str, str]:
    """A language's English name → its tag, for the languages guard's detector names (its Cyrillic family it
    names only by the script: none of those)."""
    # imported here, on a problem only: guard compiles many regexes at import, and every command imports config
    from monitor.capture.guard import _LANGUAGE_NAMES

    tags = {name: code for code, names in _LANGUAGE_NAMES.items() for name in names.split(" or ") if name.isalpha()}
    # guard names `da` "Danish or Norwegian" (one detector for both); `nb` is Norwegian's own tag (not `no`:
    # YAML reads an unquoted `no` as false)
    return {**tags, "Norwegian": "nb"}


def _tag_of_name(name: str) -> str | None:
    """The tag of a language written by its English name: `English`, `english (UK)`, a typo (`Englsh`)."""
    import difflib

    tags = {known.lower(): tag for known, tag in _tags_of_names().items()}
    words = re.findall(r"[a-z]+", name.lower())
    close = difflib.get_close_matches(words[0], list(tags), n=1, cutoff=0.8) if words else []
    return tags[close[0]] if close else None


LanguageTag = Annotated[str, AfterValidator(_check_language)]


def _one_or_more(value: Any) -> Any:
    """`url: https://…` and `url: [https://…/part-1, https://…/part-2]` both give a tuple of URLs."""
    return (value,) if isinstance(value, str) else value


MAX_PARTS = 20  # a policy split over more pages than this is more likely a crawl than a policy
Topic = Literal[TOPICS]  # type: ignore[valid-type]  # one list of names: monitor.meaning.names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """One watched policy. Unset keys come from `defaults:`."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    # `url:` in YAML: one URL, or a list of the pages one policy is split over (texts joined in order)
    urls: Annotated[tuple[HttpUrl, ...], BeforeValidator(_one_or_more)] = Field(alias="url")
    interval: Duration = 6 * 3600
    topics: tuple[Topic, ...] = Field(WATCHED, min_length=1)  # none: nothing it says could ever alert
    language: LanguageTag = "en"  # sent as Accept-Language; picks the topic model
    timeout: Duration = 30
    max_bytes: Size = 10_000_000
    select: Selector | None = None
    remove: tuple[Selector, ...] = ()
    channels: tuple[str, ...] | None = None  # None: every channel
    render: Literal["http", "browser"] = "http"  # browser: run the page's scripts in headless Chromium
    wait_for: Selector | None = None             # browser: the policy is there once this matches
    allow_hosts: tuple[str, ...] = ()            # browser: other sites a render may load from (CDNs, embeds)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def url(self) -> str:
        """The policy's address (its first page): what alerts, the feed and the database name it by."""
        return self.urls[0]

    @field_validator("urls")
    @classmethod
    def _distinct_parts(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        if not 1 <= len(urls) <= MAX_PARTS:
            raise ValueError(f"give one URL, or a list of 1 to {MAX_PARTS} URLs")
        seen = [u for i, u in enumerate(urls) if u in urls[:i]]
        if seen:
            raise ValueError(f"{seen[0]!r} is listed twice; each part of a policy is fetched once")
        return urls

    @field_validator("allow_hosts")
    @classmethod
    def _host_names(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            if not re.fullmatch(r"(?:\*\.)?[A-Za-z0-9.-]+(?::\d+)?", host):
                raise ValueError(f"{host!r} is not a host name (e.g. cdn.example.net, or *.example.net for "
                                 f"every subdomain)")
        return hosts

    @field_validator("wait_for", "allow_hosts")
    @classmethod
    def _browser_keys_need_a_browser(cls, value: Any, info: ValidationInfo) -> Any:
        if value and info.data.get("render") != "browser":
            raise ValueError(f"`{info.field_name}` only applies to `render: browser` (this source is fetched "
                             f"over plain HTTP)")
        return value


class BrowserConfig(_Strict):
    """The one headless Chromium shared by every `render: browser` source."""

    executable: str | None = None  # default: `chromium` (or chromium-browser, google-chrome) on the PATH
    pool: int = Field(2, ge=1, le=8)     # pages rendered at once (never two on one host)
    max_heap: Size = 256 * 2**20         # JavaScript heap limit per page (V8 --max-old-space-size)
    idle_close: Duration = 300           # close the browser after this long without a render


class SmtpConfig(_Strict):
    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout: Duration = 30

    @model_validator(mode="after")
    def _tls_choice(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise ValueError("choose one: `ssl: true` (implicit TLS, usually port 465) or `starttls: true` "
                             "(usually port 587); set the other to false")
        if self.username and not (self.ssl or self.starttls) and self.host.lower() not in _LOOPBACK:
            raise ValueError(f"refusing to send a password in clear text to {self.host}: turn on `starttls` or "
                             f"`ssl`, or drop `username` for a trusted relay")
        return self

    def password(self) -> str | None:
        """The SMTP password, read from the environment at send time (never stored)."""
        return (os.environ.get(self.password_env) or None) if self.password_env else None


class _ChannelBase(_Strict):
    topics: tuple[Topic, ...] | None = Field(None, min_length=1)  # None: the source's topics; () never fires
    min_severity: Literal["low", "medium", "high"] = "low"
    on_revert: bool = True  # send `policy.reverted` when a blink back undoes a change this channel was alerted of

    def secret_variables(self) -> dict[str, str]:
        """Each environment variable this channel reads a secret from at send time, with the key naming it."""
        return {}

    def unset_secrets(self) -> list[str]:
        """`NAME (key)` for each secret variable unset (or empty) in this process: until it is set, the
        channel's alerts wait in the outbox, no attempt counted (`monitor.notify.delivery`)."""
        return [f"{name} ({key})" for name, key in self.secret_variables().items() if not os.environ.get(name)]


class EmailChannel(_ChannelBase):
    type: Literal["email"]
    to: tuple[str, ...] = Field(min_length=1)
    from_: str | None = Field(None, alias="from")
    smtp: SmtpConfig
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("to", "from_")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        for address in (value,) if isinstance(value, str) else value or ():
            if not _EMAIL.match(parseaddr(address)[1]):  # "Privacy Team <privacy@example.org>" is fine
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    def secret_variables(self) -> dict[str, str]:
        return {self.smtp.password_env: "smtp.password_env"} if self.smtp.password_env else {}


class WebhookChannel(_ChannelBase):
    type: Literal["webhook"]
    url: HttpUrl | None = None
    # or the environment variable holding the address, for a receiver whose address is its secret (a token in
    # the path or query, a user:password@); read at send time, like secret_env
    url_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    secret_env: str | None = None
    insecure: bool = False  # skip TLS verification; logged as a warning at each send
    timeout: Duration = 10

    @model_validator(mode="after")
    def _one_address(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give the receiver's address in `url:` or, when it holds a token, name the "
                             "environment variable holding it in `url_env:` (one of the two)")
        return self

    def address(self) -> str | None:
        """Where alerts are POSTed: `url`, or the value of `url_env` read now (None while it is unset)."""
        return self.url if self.url is not None else (os.environ.get(self.url_env or "") or None)

    def secret(self) -> str | None:
        """The Standard Webhooks secret (whsec_…), read from the environment at send time."""
        return os.environ.get(self.secret_env) if self.secret_env else None

    def secret_variables(self) -> dict[str, str]:
        return {name: key for name, key in ((self.url_env, "url_env"), (self.secret_env, "secret_env")) if name}


class AppriseChannel(_ChannelBase):
    type: Literal["apprise"]
    # names of environment variables, each holding one Apprise URL (slack://…, ntfy://…): the URLs
    # carry their service's token, so they are never written in the config
    urls_env: tuple[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], ...] = Field(min_length=1)
    timeout: Duration = 10

    def urls(self) -> dict[str, str | None]:
        """Each variable of `urls_env` with its URL, read from the environment at send time (None: unset)."""
        return {name: os.environ.get(name) or None for name in self.urls_env}

    def secret_variables(self) -> dict[str, str]:
        return dict.fromkeys(self.urls_env, "urls_env")


Channel = Annotated[EmailChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")]


class DaemonConfig(_Strict):
    concurrency: int = Field(8, ge=1, le=256)
    per_host_delay: Delay = 2
    failure_threshold: int = Field(3, ge=1)
    # a failed check is retried this long after, doubling per failure in a row, until the regular
    # run comes first: a 503 on a daily source costs minutes, not a day. 0 turns retries off.
    failure_retry: Delay = 60
    heartbeat: Duration = 30
    delivery_interval: Duration = 30
    lock_timeout: Duration = 600
    # processes beside the main one, for the other cores: `check` splits its sources by host over them
    # (monitor.shards: each checks its share whole), the daemon normalizes and compares pages in them
    # (monitor.offload); unset: one per core but one when there are 20+ sources, 0: none (one process)
    cpu_processes: int | None = Field(None, ge=0, le=64)


class FetchConfig(_Strict):
    retries: int = Field(2, ge=0, le=10)
    backoff: Duration = 1
    max_retry_after: Duration = 120


class DeliveryConfig(_Strict):
    max_attempts: int = Field(10, ge=1)
    max_age: Duration = 3 * 86400
    backoff: Duration = 30
    max_backoff: Duration = 6 * 3600
    max_retry_after: Duration = 3600


def _check_base_url(url: str | None) -> str | None:
    if url is not None and re.search(r"[?#]", url):
        raise ValueError(f"{shown_url(url)!r} must not hold a query or fragment: give the address `serve` is "
                         "reached at")
    return url.rstrip("/") if url else url


class WebConfig(_Strict):
    """`web:`: the read-only web view (`policy-monitor serve`) and the links alerts carry to it."""

    # where people reach `serve` (behind a proxy, say); alerts then link to the change page
    base_url: Annotated[HttpUrl | None, AfterValidator(_check_base_url)] = None
    # the environment variable holding the access token; required to serve beyond loopback
    token_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    def token(self) -> str | None:
        """The access token, read from the environment when `serve` starts (never stored)."""
        return (os.environ.get(self.token_env) or None) if self.token_env else None

    def change_url(self, source: str, old: int | None, new: int) -> str | None:
        """The change page of `source` from version `old` to `new`, when `base_url` is set."""
        from urllib.parse import quote

        if not self.base_url or old is None:
            return None
        return f"{self.base_url}/sources/{quote(source, safe='')}/changes/{old}..{new}"


class Config(_Strict):
    """The whole validated sources.yaml."""

    path: str = DEFAULT_CONFIG_PATH
    database: str | None = None
    daemon: DaemonConfig = DaemonConfig()
    fetch: FetchConfig = FetchConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    browser: BrowserConfig = BrowserConfig()
    feed: str | None = None
    web: WebConfig = WebConfig()
    channels: dict[str, Channel] = {}
    # no `sources:` key: a config for the commands that read the history or deliver alerts; a list is never empty
    sources: tuple[SourceConfig, ...] = Field((), min_length=1)

    @field_validator("database")
    @classmethod
    def _no_password_in_url(cls, url: str | None) -> str | None:
        if url and holds_password(url):
            raise ValueError("the URL holds a password, which must not be written in the config: give the whole "
                             "URL in POLICY_MONITOR_DB instead, or the password in PGPASSWORD or ~/.pgpass")
        if url and (problem := database_url_problem(url)):
            raise ValueError(problem)
        return url

    def source(self, name: str) -> SourceConfig | None:
        # an index built once per `sources` (the daemon looks its source up at every check; a scan of 1,000
        # was 3% of its CPU), kept beside the fields as cached_property would, and rebuilt for a copy's own
        index = self.__dict__.get("_sources_by_name")
        if index is None or index[0] is not self.sources:
            index = self.__dict__["_sources_by_name"] = (self.sources, {s.name: s for s in reversed(self.sources)})
        return index[1].get(name)  # reversed: the first of a name wins, as a search from the start finds it

    def channels_for(self, source: SourceConfig) -> dict[str, EmailChannel | WebhookChannel | AppriseChannel]:
        names = source.channels if source.channels is not None else tuple(self.channels)
        return {n: self.channels[n] for n in names if n in self.channels}


def config_warnings(config: Config, known_languages: tuple[str, ...]) -> list[str]:
    """What is valid but will not work as the user may expect, said by `validate` with its line and field as a
    config error is (`check`, `run` and the workers log the `topic_warnings` part too)."""
    locator = _Locator(_config_text(config), config.path)
    sources = list(enumerate(config.sources))

    def at(loc: tuple, message: str) -> str:
        return str(locator.problem(loc, message))

    found = []
    for i, source in sources:
        language = primary_language(source.language)
        if language not in known_languages:
            found.append(at(("sources", i, "language"), f"source {source.name}: topics and significance are not "
                            f"available in language {language!r} (known: {', '.join(known_languages)}); its changes "
                            f"are stored and diffed but reported unrated, and never alert"))
    for i, source in sources:
        if source.channels == () and config.channels:
            found.append(at(("sources", i, "channels"), f"source {source.name}: `channels: []`, so its changes are "
                            f"stored, listed and in the feed but alert no channel (leave `channels:` out for every "
                            f"channel)"))
    rendered = [(i, s.name) for i, s in sources if s.render == "browser"]
    if rendered:
        from monitor.capture.browser import CHROMIUM_NAMES, INSTALL_HINT, find_chromium, playwright_missing

        first = ("sources", rendered[0][0], "render")
        which = f"source{'s' * (len(rendered) != 1)} {', '.join(name for _, name in rendered)}"
        if find_chromium(config.browser.executable) is None:
            where = (f"browser.executable {config.browser.executable!r} is not an executable file"
                     if config.browser.executable else f"none of {', '.join(CHROMIUM_NAMES)} is on the PATH")
            found.append(at(first, f"{which}: `render: browser` is set but no Chromium can be found ({where}); "
                                   f"{INSTALL_HINT}. Until then these checks fail"))
        if problem := playwright_missing():
            found.append(at(first, f"{which}: `render: browser` is set but {problem}. Until then these checks fail"))
    for name, channel in config.channels.items():
        for variable, key in channel.secret_variables().items():
            if not os.environ.get(variable):
                found.append(at(("channels", name, *key.split(".")),
                                f"channel {name}: environment variable {variable} is not set here; its alerts will "
                                f"wait in the outbox until it is set where the daemon or `check` runs"))
        if isinstance(channel, WebhookChannel) and not channel.secret_env:
            found.append(at(("channels", name), f"channel {name}: no `secret_env`, so its alerts are sent "
                            f"unsigned and its receiver cannot tell them from forged ones; name a variable holding "
                            f"a `whsec_…` secret in `secret_env:`"))
    found += topic_warnings(config, locator.text)
    if config.web.token_env and not os.environ.get(config.web.token_env):
        found.append(at(("web", "token_env"), f"web: environment variable {config.web.token_env} is not set here; "
                        f"`serve` refuses a non-loopback --host until it is"))
    return found


def _config_text(config: Config) -> str:
    """The text of the file `config` was read from ("" when it cannot be read now: warnings then name the file)."""
    try:
        return Path(config.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def topic_warnings(config: Config, text: str | None = None) -> list[str]:
    """Channel topics that no source of the channel watches, so they never fire: one warning each with its
    line (from `text`, or the file at `config.path`); said by `validate`, logged by `check`, `run` and a reload.

    A channel's `topics:` picks among the topics its sources watch (`topics:` per source or in `defaults:`);
    it never adds one, as a source's topics are what its checks rate and report. So a channel topic that
    a source does not watch never alerts that channel for that source."""
    sources_of = {name: [s for s in config.sources if s.channels is None or name in s.channels]
                  for name, channel in config.channels.items() if channel.topics}
    unheard = [(name, j, topic, [s.name for s in sources if topic not in s.topics])
               for name, sources in sources_of.items() if sources
               for j, topic in enumerate(config.channels[name].topics or ())]
    # only a topic no source of the channel watches: one some source watches is a choice of the others'
    # `topics:`, and fires for that source
    unheard = [u for u in unheard if len(u[3]) == len(sources_of[u[0]])]
    if not unheard:
        return []
    locator = _Locator(_config_text(config) if text is None else text, config.path)
    found = []
    for name, j, topic, deaf in unheard:
        listed = ", ".join(deaf[:5]) + (f" and {len(deaf) - 5} more" if len(deaf) > 5 else "")
        who = f"its source {listed}" if len(deaf) == 1 else f"any of its {len(deaf)} sources ({listed})"
        found.append(str(locator.problem(
            ("channels", name, "topics", j),
            f"channel {name}: topic {topic!r} is not watched by {who}, so it never fires: a channel's `topics:` "
            f"only narrows its sources' topics; add {topic!r} to the sources' `topics:` (or to `defaults: topics:`)")))
    return found


def resolve_config_path(cli_value: str | None) -> Path:
    """--config > POLICY_MONITOR_CONFIG > ./sources.yaml."""
    return Path(cli_value or os.environ.get("POLICY_MONITOR_CONFIG") or DEFAULT_CONFIG_PATH)


def resolve_database_url(cli_value: str | None, config: Config | None) -> str:
    """--db > POLICY_MONITOR_DB > `database:` in the config > sqlite:///policy-monitor.db.

    A URL of a database policy-monitor does not support raises UsageError (exit 2) naming where it came from."""
    for where, url in (("--db", cli_value), ("POLICY_MONITOR_DB", os.environ.get("POLICY_MONITOR_DB"))):
        if url:
            if problem := database_url_problem(url):
                raise UsageError(f"{where}: {problem}")
            return url
    return (config.database if config else None) or DEFAULT_DATABASE


# the databases policy-monitor is built and tested on, by SQLAlchemy URL scheme (dialect[+driver])
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
_SUPPORTED_HINT = ("policy-monitor supports SQLite (sqlite:///path/to/monitor.db) and PostgreSQL "
                   "(postgresql+psycopg://user@host/dbname)")


def sources_digest(config: Config) -> str:
    """A short digest of the configured source names: the daemon writes the one it runs with, so `status` can
    tell a sources.yaml edited since (a source added, not loaded until SIGHUP)."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(s.name for s in config.sources)).encode()).hexdigest()[:16]


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL policy-monitor cannot use, or None. The message names the scheme
    only, never the rest: the URL may hold a password."""
    scheme, sep, _ = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][\w+.-]*", scheme):
        return f"not a database URL; {_SUPPORTED_HINT}"
    if scheme not in SUPPORTED_DATABASES:
        return f"unsupported database {scheme + '://'!r}; {_SUPPORTED_HINT}"
    return None


def reload_config(path: str | Path, log: logging.Logger) -> Config | None:
    """SIGHUP's re-read of sources.yaml: the new config, or None (logged) when it is invalid or unreadable,
    so the running process keeps the config it has."""
    try:
        config = load_config(path)
        for warning in topic_warnings(config):
            log.warning(f"reload: {warning}")
        return config
    except ConfigError as exc:
        n = len(exc.problems)
        log.error(f"reload: {path} is invalid ({n} problem{'s' * (n != 1)}); keeping the running config",
                  extra={"problems": [str(p) for p in exc.problems]})
    except Exception as exc:  # noqa: BLE001 — a reload never stops a running process
        log.error(f"reload: cannot read {path}: {exc}; keeping the running config")
    return None


def config_path_origin(cli_value: str | None) -> str:
    """Which of --config > POLICY_MONITOR_CONFIG > ./sources.yaml `resolve_config_path` took: cli, env or default."""
    return "cli" if cli_value else "env" if os.environ.get("POLICY_MONITOR_CONFIG") else "default"


_ORIGIN_WORDS = {"cli": "the path given with --config", "env": "the path given in POLICY_MONITOR_CONFIG",
                 "default": "the default when neither --config nor POLICY_MONITOR_CONFIG is given"}


def load_config(path: str | Path, origin: str | None = None) -> Config:
    """Read and validate a sources.yaml; raise ConfigError listing every problem with its line, or
    ConfigNotFoundError saying where it looked (`origin`, from `config_path_origin`: how `path` was chosen)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        why = f" ({_ORIGIN_WORDS[origin]})" if origin in _ORIGIN_WORDS else ""
        raise ConfigNotFoundError(str(path), f"no config file at {path.absolute()}{why}; name the config with "
                                             f"--config PATH or the POLICY_MONITOR_CONFIG environment variable"
                                             + ", or create this one" * (origin == "default")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), None, "file", f"cannot read: {exc}")]) from None
    return parse_config(text, str(path))


def parse_config(text: str, filename: str = DEFAULT_CONFIG_PATH) -> Config:
    """Validate YAML text; `filename` is used in the problems' locations."""
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(filename, line, "yaml", f"not valid YAML: {reason}")]) from None
    if data is None or data == {}:
        # refused as `sources: []` is: a file with nothing in it is a mistake (the wrong file, an edit not
        # saved), and accepted it would watch nothing and say OK
        what = "an empty mapping" if data == {} else "the file is empty or only comments"
        raise ConfigError([Problem(filename, None, "(top level)",
                                   f"holds no keys ({what}); needs at least one source under `sources:`; "
                                   f"{_READERS_ONLY} and holds the keys they read, such as `database:` or "
                                   f"`channels:`")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(filename, 1, "(top level)", "expected a mapping of keys")])

    locator = _Locator(text, filename)
    problems = _secret_problems(data, locator) + _cross_problems(data, locator) + _apprise_url_problems(data, locator)
    merged = dict(data)
    defaults = data.get("defaults") or {}
    merged.pop("defaults", None)
    if not isinstance(defaults, dict):
        problems.append(locator.problem(("defaults",), "expected a mapping of source keys"))
        defaults = {}
    if isinstance(data.get("sources"), list) and defaults:
        merged["sources"] = [
            {**defaults, **s} if isinstance(s, dict) else s for s in data["sources"]
        ]
    try:
        config = Config.model_validate({**merged, "path": filename})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc and loc[0] == "path":
                continue
            if err["type"] == "extra_forbidden" and str(loc[-1]).lower() in SECRET_KEYS:
                continue  # already explained by _secret_problems
            if err["type"] == "extra_forbidden" and loc[:1] == ("channels",) and loc[2:3] == ("apprise",) \
                    and loc[-1] in ("url", "urls"):
                continue  # already explained by _apprise_url_problems
            if loc == ("sources",) and err["type"] in ("tuple_type", "too_short"):
                continue  # already explained by _cross_problems
            if err["type"] == "too_short" and _long_enough(err):
                continue  # items were dropped as invalid, each with its own problem: the list itself is fine
            if err["type"] == "union_tag_invalid":
                loc = (*loc, "type")  # the problem is the `type:` value, on its own line
            problems.append(locator.problem(_pydantic_loc(loc, data), _message(err) + _did_you_mean(err)))
    if problems:
        raise ConfigError(_dedupe(problems))
    return config


# libyaml's parser (C) when PyYAML was built with it: its nodes keep the same line marks, ~10× faster
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> Any:
    """The data. The node tree it is built from (a few KB per source, with every line mark) is let go
    before validation: a valid file never needs it, and `_Locator` parses again to place a problem."""
    loader = _YAML_LOADER(text)
    try:
        root = loader.get_single_node()
        return loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def _compose(text: str) -> yaml.Node | None:
    loader = _YAML_LOADER(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _pydantic_loc(loc: tuple, data: dict) -> tuple:
    """Map a pydantic error location to a location in the YAML, pointing at `defaults` when inherited."""
    # Discriminated unions add the tag as a path element ('email'); drop it.
    loc = tuple(p for i, p in enumerate(loc)
                if not (i == 2 and loc[0] == "channels" and p in ("email", "webhook", "apprise")))
    if len(loc) >= 3 and loc[0] == "sources" and isinstance(loc[1], int):
        sources = data.get("sources") or []
        own = sources[loc[1]] if loc[1] < len(sources) and isinstance(sources[loc[1]], dict) else {}
        if loc[2:] == ("url", 0) and isinstance(own.get("url", (data.get("defaults") or {}).get("url")), str):
            loc = loc[:3]  # `url:` is one URL, not a list: the problem is on its own line
        if loc[2] not in own and loc[2] in (data.get("defaults") or {}):
            return ("defaults", *loc[2:])
    return loc


# what one item of a list is called, for "needs at least one address"
_ITEM_NOUNS = {"to": "address", "urls_env": "variable name", "url": "URL", "remove": "selector",
               "topics": "topic", "channels": "channel name", "allow_hosts": "host name", "sources": "source"}
# why a list must not be empty, where that is not plain, by (top-level key, list key)
_EMPTY_BECAUSE = {
    ("sources", "topics"): "a source that watches no topic never alerts",
    ("channels", "topics"): "leave `topics:` out for every topic the channel's sources watch",
}
_READERS_ONLY = "a config only for the commands that read the history or deliver alerts leaves `sources:` out"
NO_SOURCES = f"needs at least one source; {_READERS_ONLY}"


def _long_enough(err: dict) -> bool:
    """Whether a too_short list had enough items as written (pydantic counts only the items that were valid)."""
    bound = (err.get("ctx") or {}).get("min_length")
    return isinstance(err.get("input"), list | tuple) and isinstance(bound, int) and len(err["input"]) >= bound


def _message(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("too_short", "too_long"):
        bound = (err.get("ctx") or {}).get("min_length" if kind == "too_short" else "max_length")
        noun = _ITEM_NOUNS.get(str(err["loc"][-1]), "item")
        if isinstance(bound, int):
            count = "one" if bound == 1 else str(bound)
            noun += "es" if noun.endswith("ss") and bound != 1 else "s" * (bound != 1)
            if kind == "too_short":
                because = _EMPTY_BECAUSE.get((err["loc"][0], err["loc"][-1]))
                return f"needs at least {count} {noun}" + (f": {because}" if because else "")
            return f"takes at most {count} {noun}"
    if kind == "bool_parsing" or kind == "bool_type":
        return "expected true or false"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "expected a whole number"
    if kind == "string_type":
        return "expected a text value"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "channel `type` must be `email`, `webhook` or `apprise`"
    if kind == "literal_error":
        if "topics" in err["loc"]:
            return f"unknown topic {err['input']!r}"
        return f"must be {(err.get('ctx') or {}).get('expected', 'one of the listed values')}, not {err['input']!r}"
    if kind in ("tuple_type", "list_type") and err["loc"][-1:] == ("url",):
        return "expected a URL, or a list of the URLs one policy is split over"
    if kind in ("tuple_type", "list_type"):
        return "expected a list (items starting with `- `, or `[a, b]`)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping of keys"
    if kind == "string_pattern_mismatch":
        return "use letters, digits, `.`, `_` and `-` only, starting with a letter or digit"
    return msg.removeprefix("Value error, ")


# the words people use for a topic, when they are not its name
_TOPIC_WORDS = {
    **dict.fromkeys(("children", "child", "kids", "teens", "coppa", "age", "ages", "parental consent"), "minors"),
    **dict.fromkeys(("storage", "deletion", "data retention", "keeping", "erasure"), "retention"),
    **dict.fromkeys(("third parties", "third-party", "disclosure", "disclosures", "sale", "selling", "data sharing",
                     "recipients"), "sharing"),
    **dict.fromkeys(("advertising", "ads", "ai", "profiling", "ai training", "targeting"), "ads_ai"),
}


def _did_you_mean(err: dict) -> str:
    """'; did you mean 'channels'?' for an unknown key close to one allowed at its level, or a value close
    to one allowed (a channel `type`, a topic, any other choice): a typo. Else '' (for a topic: the topics)."""
    import difflib

    if err["type"] == "extra_forbidden" and isinstance(err["loc"][-1], str):
        typed, allowed = err["loc"][-1], _allowed_keys(tuple(err["loc"][:-1]))
    elif err["type"] == "union_tag_invalid":
        typed, allowed = (err.get("ctx") or {}).get("tag"), ["email", "webhook", "apprise"]
    elif err["type"] == "literal_error":
        typed, allowed = err["input"], re.findall(r"'([^']*)'", (err.get("ctx") or {}).get("expected", ""))
    else:
        return ""
    by_lower = {choice.lower(): choice for choice in allowed}
    close = difflib.get_close_matches(str(typed).lower(), list(by_lower), n=1, cutoff=0.7)
    if close:
        return f"; did you mean {by_lower[close[0]]!r}?"
    if err["type"] == "literal_error" and "topics" in err["loc"] and (meant := _TOPIC_WORDS.get(str(typed).lower())):
        return f"; did you mean {meant!r}?"
    if err["type"] == "literal_error" and "topics" in err["loc"]:
        return f"; the topics are {', '.join(TOPICS)}"
    return ""


def _allowed_keys(parent: tuple) -> list[str]:
    """The keys the YAML takes at `parent`, a pydantic location (channels carry their type as third part)."""
    model: type[BaseModel] | None = Config
    if parent[:1] == ("sources",):
        model = SourceConfig  # the keys of `defaults:` too: they are merged into each source
    elif parent[:1] == ("channels",) and len(parent) >= 3:
        model = {"email": EmailChannel, "webhook": WebhookChannel, "apprise": AppriseChannel}.get(str(parent[2]))
        if len(parent) >= 4:
            model = SmtpConfig if parent[3:] == ("smtp",) else None
    elif parent:
        field = Config.model_fields.get(str(parent[0]))
        model = field.annotation if field and len(parent) == 1 else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    keys = [f.alias or name for name, f in model.model_fields.items() if name != "path" or model is not Config]
    return keys + ["defaults"] * (model is Config)


def _secret_hint(key: str, loc: tuple) -> str:
    if loc[:1] == ("web",):
        return "`token_env:`"  # the web view's access token
    return _SECRET_HINT.get(key, "`password_env:` or `secret_env:`")


def _secret_problems(data: dict, locator: _Locator) -> list[Problem]:
    problems: list[Problem] = []

    def walk(node: Any, loc: tuple) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).lower() in SECRET_KEYS:
                    problems.append(locator.problem(
                        (*loc, key),
                        f"secrets are never written in the config; put the value in an environment "
                        f"variable and name it with "
                        f"{_secret_hint(str(key).lower(), loc)} instead",
                    ))
                walk(value, (*loc, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*loc, i))

    walk(data, ())
    return problems


def _cross_problems(data: dict, locator: _Locator) -> list[Problem]:
    """Checks that span entries: duplicate source names, channels that do not exist."""
    problems: list[Problem] = []
    channels = data.get("channels") or {}
    known = set(channels) if isinstance(channels, dict) else set()
    if "sources" not in data:
        return problems
    sources = data["sources"]
    if sources is None or sources == []:  # `sources:` with nothing under it, or `sources: []`
        return [locator.problem(("sources",), NO_SOURCES)]
    if not isinstance(sources, list):
        return [locator.problem(("sources",), "expected a list of sources")]
    seen: dict[str, int] = {}
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    for i, source in enumerate(sources):
        if not isinstance(source, dict):
            problems.append(locator.problem(("sources", i), "expected a mapping with at least name and url"))
            continue
        name = source.get("name")
        if isinstance(name, str):
            if name in seen:
                first = locator.line(("sources", seen[name], "name"))
                problems.append(locator.problem(
                    ("sources", i, "name"), f"duplicate source name {name!r} (first defined on line {first})"
                ))
            else:
                seen[name] = i
        wanted = source.get("channels", defaults.get("channels"))
        if isinstance(wanted, list):
            loc_base = ("sources", i, "channels") if "channels" in source else ("defaults", "channels")
            for j, channel in enumerate(wanted):
                if isinstance(channel, str) and channel not in known:
                    hint = f"; defined channels: {', '.join(sorted(known))}" if known else "; no channels are defined"
                    problems.append(locator.problem((*loc_base, j), f"unknown channel {channel!r}{hint}"))
    return problems


def _apprise_url_problems(data: dict, locator: _Locator) -> list[Problem]:
    """An Apprise URL written in the config would put its token in version control: name a variable instead."""
    channels = data.get("channels")
    problems = []
    for name, channel in (channels.items() if isinstance(channels, dict) else ()):
        if isinstance(channel, dict) and channel.get("type") == "apprise":
            for key in ("url", "urls"):
                if key in channel:
                    problems.append(locator.problem(
                        ("channels", name, key), "Apprise URLs carry their service's token, so they are never "
                        "written in the config: put each URL in an environment variable and list the variables' "
                        "names in `urls_env:`"))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0, p.field))


class _Locator:
    """Finds the YAML line of a location such as ('sources', 2, 'url'); parses the text into nodes on first use."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self._root: yaml.Node | None | bool = False   # False: not parsed yet

    @property
    def root(self) -> yaml.Node | None:
        if self._root is False:
            self._root = _compose(self.text)
        return self._root  # type: ignore[return-value]

    def line(self, loc: tuple) -> int | None:
        root = self.root
        node, line = root, (root.start_mark.line + 1 if root else None)
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def problem(self, loc: tuple, message: str) -> Problem:
        return Problem(self.filename, self.line(loc), _field_name(loc), message)


def _field_name(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
