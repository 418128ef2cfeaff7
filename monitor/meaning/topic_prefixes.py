"""Where the topics stage's patterns can start: their literal prefixes, so long texts are matched only there."""

from __future__ import annotations

try:  # the standard library's own regex parser (private: without it long texts are only slower)
    from re import _constants as _sre
    from re import _parser as _parse
except ImportError:  # pragma: no cover - other Python versions
    _parse = None

_DIGITS = frozenset("0123456789")
_RARE_CHARS = frozenset("@+%$#&")  # one-character anchors worth a literal search


def _prefixes(sequence, index: int = 0) -> set[str] | None:  # noqa: ANN001 - a parsed `re` pattern
    """Non-empty literals one of which every match of `sequence[index:]` starts with; None if unknown."""
    items = list(sequence)
    if index >= len(items):
        return None  # nothing left: the match could be empty here
    op, av = items[index]
    if op is _sre.AT:  # \b and friends take no characters
        return _prefixes(items, index + 1)
    if op is _sre.LITERAL:
        run = ""
        while index < len(items) and items[index][0] is _sre.LITERAL:
            run += chr(items[index][1])
            index += 1
        return {run}
    if op is _sre.SUBPATTERN:
        return _prefixes(av[3])
    if op is _sre.BRANCH:
        found: set[str] = set()
        for alternative in av[1]:
            prefixes = _prefixes(alternative)
            if prefixes is None:
                return None
            found |= prefixes
        return found
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        least, _, body = av
        inner = _prefixes(body)
        if inner is None or least >= 1:
            return inner
        rest = _prefixes(items, index + 1)  # optional: the match may start with what follows
        return None if rest is None else inner | rest
    if op is _sre.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is _sre.LITERAL:
                chars.add(chr(value))
            elif kind is _sre.RANGE:
                chars |= {chr(c) for c in range(value[0], value[1] + 1)}
            elif kind is _sre.CATEGORY and value is _sre.CATEGORY_DIGIT:
                chars |= _DIGITS
            else:
                return None
        return chars
    if op is _sre.CATEGORY and av is _sre.CATEGORY_DIGIT:
        return set(_DIGITS)
    return None


def pattern_facts(pattern: str) -> tuple[frozenset[str] | None, frozenset[str] | None, frozenset[str] | None]:
    """Of `pattern` (lower-case, a match starting at a word start), from one parse of it (parsing is most of
    the cost, paid at import by every process that classifies):

    - the first two, and the first three, characters a match can begin with; None when that is unknown or
      not a word character (then scan everywhere);
    - the literals starting at a word start, one of which every match contains; None when unknown (a
      sentence without any cannot hold a match)."""
    parsed = _parsed(pattern)
    prefixes = _word_prefixes(parsed)
    keys2, keys3 = ((frozenset(p[:n] for p in prefixes) for n in (2, 3)) if prefixes is not None else (None, None))
    return keys2, keys3, _anchors(parsed)


_UNKNOWN = object()  # a pattern the parser cannot read, or no parser


def _parsed(pattern: str):  # noqa: ANN202 - a parsed `re` pattern, or _UNKNOWN
    if _parse is None:
        return _UNKNOWN
    try:
        return _parse.parse(pattern)
    except Exception:  # noqa: BLE001 - an unknown parser shape only costs speed
        return _UNKNOWN


def _word_prefixes(parsed) -> set[str] | None:  # noqa: ANN001
    """The literal prefixes every match begins with, when each starts with a word character; else None."""
    if parsed is _UNKNOWN:
        return None
    try:
        prefixes = _prefixes(parsed)
    except Exception:  # noqa: BLE001 - an unknown parser shape only costs speed
        return None
    if not prefixes or any(not (p[0].isalnum() or p[0] == "_") for p in prefixes):
        return None
    return prefixes


# Words in nearly every sentence of a policy: an anchor set holding one marks nearly every sentence.
_COMMON = frozenset("a an and or the to of in on at for with by as is are be it its this that these those such "
                    "any all we us our you your their may will can not information data personal provide use".split())


def _rarity(anchors: set[str]) -> int:
    """How selective a set of anchors is: the length of its weakest member, a common word counting 1."""
    return min(1 if anchor in _COMMON else len(anchor) for anchor in anchors)


def _ends_in_space(sequence) -> bool:  # noqa: ANN001
    items = list(sequence)
    if not items:
        return False
    op, av = items[-1]
    if op is _sre.LITERAL:
        return chr(av) == " "
    if op is _sre.SUBPATTERN:
        return _ends_in_space(av[3])
    if op is _sre.BRANCH:
        return all(_ends_in_space(alternative) for alternative in av[1])
    return False


def _word_anchors(sequence, at_word_start: bool) -> set[str] | None:  # noqa: ANN001
    """Literals starting at a word start, one of which every match of `sequence` contains."""
    best: set[str] | None = None

    def consider(candidate: set[str] | None) -> None:
        nonlocal best
        if candidate and all(len(c) >= 2 or c in _RARE_CHARS for c in candidate) and (
                best is None or _rarity(candidate) > _rarity(best)):
            best = candidate

    run, run_at_word_start, word_start = "", False, at_word_start
    for op, av in [*sequence, (None, None)]:
        if op is _sre.LITERAL:
            if not run:
                run_at_word_start = word_start
            run += chr(av)
            word_start = not (chr(av).isalnum() or chr(av) == "_")  # "\b\w" follows a space or a hyphen
            continue
        if run:
            words = run.split(" ")
            # the text after a space in the run starts a word; the run's head only if the run does
            heads = [w for w in words[1:] if w] + ([words[0]] if run_at_word_start and words[0] else [])
            if heads:
                consider({max(heads, key=len)})
            consider({c for c in run if c in _RARE_CHARS} and {next(c for c in run if c in _RARE_CHARS)})
            run = ""
        if op is _sre.AT:
            continue
        if op is _sre.BRANCH:
            alternatives = [_word_anchors(a, word_start) for a in av[1]]
            if all(alternatives):
                consider(set().union(*alternatives))
            word_start = all(_ends_in_space(a) for a in av[1])
        elif op is _sre.SUBPATTERN:
            consider(_word_anchors(av[3], word_start))
            word_start = _ends_in_space(av[3])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            least, _, body = av
            if least >= 1:
                consider(_word_anchors(body, word_start))
            word_start = _ends_in_space(body) and (least >= 1 or word_start)
        elif op is _sre.IN:  # a class of separators only ("[- ]") leaves the next letter at a word start
            word_start = all(kind is _sre.LITERAL and not (chr(v).isalnum() or chr(v) == "_") for kind, v in av)
        else:
            word_start = False
    return best


def _anchors(parsed) -> frozenset[str] | None:  # noqa: ANN001
    if parsed is _UNKNOWN:
        return None
    try:
        anchors = _word_anchors(parsed, True)
    except Exception:  # noqa: BLE001 - an unknown parser shape only costs speed
        return None
    return frozenset(anchors) if anchors else None
