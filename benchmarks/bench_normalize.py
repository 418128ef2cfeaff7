"""Benchmark: normalize on the throughput corpus, lxml port against the BeautifulSoup reference; `--compare` checks
their output byte for byte on every input we have.

    .venv/bin/python benchmarks/bench_normalize.py                 # CPU ms/page, median over 200 corpus pages
    .venv/bin/python benchmarks/bench_normalize.py --compare       # + byte-equality on all inputs (a few minutes)
    .venv/bin/python benchmarks/bench_normalize.py --compare --events   # the same through the deep-page parse path

(`--events` builds every tree from the parser's events, the path of pages deeper than 2,048 elements: there a
control character in a text becomes a space or U+FFFD, as lxml's API refuses them; the last edge case shows
it: `a\x01b \x0b-- c` is `a\x01b -- c` from libxml2's tree and the BeautifulSoup reference, `a\ufffdb - c` there.)

The reference is `benchmarks/normalize_bs4_reference.py`: the BeautifulSoup normalizer as it was when the lxml
port replaced it (NORMALIZER_VERSION 1), frozen. It is kept as a file rather than as stored digests so that a new
input (a page that broke something) can be compared without regenerating anything; once NORMALIZER_VERSION is
bumped it stops being the reference and `--compare` is only meaningful for inputs whose output did not change.

Inputs of `--compare`: every HTML file under tests/fixtures; `tests.pages.render_policy` over every seed with
every style and its noise/banner/wrap/notice/typography variants; the pages of `bench_throughput.build_corpus`
(written to files and read back, nonce pages with their SSI comments as served from disk) and their "10% changed"
edits; every policy and history version of /work/shared/corpus as Markdown, the policies and the seeds also as
plain text; `fold_text` (shared with the PDF reader) on every line of those; hand-made edge cases (deep nesting,
content after `</html>`, comments and ruby inside skip links, odd attribute names, empty and comment-only pages);
a share of those with `select`/`remove` selectors (`SELECTS`, `REMOVES`); the HTML string literals of the
normalizer's test files; and every call the normalizer receives while those test
files run (`--no-tests` skips running them), with its `select`/`remove`.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import normalize_bs4_reference as reference  # noqa: E402
from bench_throughput import build_corpus, change_tenth  # noqa: E402

import monitor.capture.normalize as port  # noqa: E402
from tests.pages import STYLES, render_policy, seed_numbers, seed_text  # noqa: E402

CORPUS = Path("/work/shared/corpus")
TEST_FILES = ("tests/test_normalize.py", "tests/test_capture_parts.py", "tests/test_guard.py")
RECORDED_TEST_FILES = (*TEST_FILES, "tests/test_fingerprint.py")
Input = tuple[str, str, dict]  # (label, body, keyword arguments of normalize)

EDGE_CASES = [
    "<p>start</p>" + "<div>x" * 3000 + "end" + "</div>" * 3000 + "<p>after</p>",
    "<main><p>start</p>" + "<font>x" * 5000 + "deep <b>bold</b> end" + "<p>after</p></main>",
    "<p>a</p>" + "<span>x" * 2047 + "edge" + "</span>" * 2047,
    "<html><body><p>One.</p></body></html><p>After the end.</p><main><p>Late main.</p></main>",
    "<p>a</p></body>after body</html>after html<!--c--> more",
    '<body><a href="#main">Skip<!-- x -->to content</a><p>Text.</p></body>',
    '<body><a href="#top">x<rt>Back to top</rt></a><p>Text <ruby>漢<rt>kan</rt></ruby>.</p></body>',
    '<div @click="x" :class="cookie-banner" x-on:click="z" #ref>Keep me.</div><fb:like>Like</fb:like>',
    '<div class="  cookie\u00a0banner ">Cookies here.</div><p>Policy text.</p>',
    "<!-- only a comment -->", "<?xml version='1.0'?><p>x</p>", "<html></html>", "<p></p>", "\ufeff<p>BOM</p>",
    "<html><head><title>T</title></head></html>", "<frameset><frame src=x></frameset><noframes>No frames.</noframes>",
    "<template><p>Not shown.</p></template><p>Shown <script>var a;</script>text.</p>",
    "<table><tr><td>A</td><td>B<!-- c --></td></tr><tr><td>C</td><td>D</td></tr></table>",
    '<p>Mail <a href="/cdn-cgi/l/email-protection#4f2a372e223f232a0f2a372e223f232a612c2022">[email protected]</a>.</p>',
    "<ul><li>One<li>Two<ul><li>Nested</ul></ul><p>a<br>b<br>Cee</p>",
    "<p>lone \ud800 surrogate</p>", "<p>a\x00b\x0cc\x1fd</p>", '<meta charset="iso-8859-1"><p>café</p>',
    '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><p>日本 語 .</p>',
    "<p>" + "long " * 40000 + "</p>", "<div " + " ".join(f"a{i}=1" for i in range(3000)) + ">Attributes.</div>",
    "<![CDATA[x]]><p>y</p>", "<svg><p>in svg</p></svg><math><mi>x</mi></math><p>After.</p>",
    "<table><td>a<td>b<tr><td>c<td>d</table>", "<body><p>One</p><body class=x><p>Two</p>",
    "<h2>Head<p>para inside</h2><h3><button>Open</button> section</h3>",
    '<main hidden><p>Hidden main.</p></main><div role="main"><p>Role main.</p></div>',
    "<p>a\x01b \x0b-- c\x0c--d</p>",
]


def _html_files() -> Iterator[Input]:
    for path in sorted((ROOT / "tests" / "fixtures").rglob("*.htm*")):
        yield f"fixture {path.relative_to(ROOT)}", path.read_text(encoding="utf-8", errors="replace"), {}


def _rendered_pages() -> Iterator[Input]:
    for seed in seed_numbers():
        text = seed_text(seed)
        for style in STYLES:
            for noise in range(8):
                for banner, wrap, notice, typography in ((True, None, False, False), (False, 60, True, False),
                                                         (True, 100, False, True), (False, None, True, True)):
                    yield (f"pages seed {seed} {style} noise={noise} banner={banner} wrap={wrap} notice={notice} "
                           f"typography={typography}",
                           render_policy(text, style=style, noise=noise, banner=banner, wrap=wrap, notice=notice,
                                         typography=typography), {})


def bench_pages(n: int) -> list[Input]:
    """The throughput benchmark's corpus (written as files and read back, as nginx serves them)."""
    with tempfile.TemporaryDirectory() as tmp:
        pages = build_corpus(Path(tmp), n)
        out = [(f"bench {page.path}", page.file.read_text(), {}) for page in pages]
        change_tenth(pages, 1)
        out += [(f"bench changed {page.path}", page.file.read_text(), {}) for i, page in enumerate(pages)
                if i % 10 == 0]
    return out


def _markdown() -> Iterator[Input]:
    for path in sorted((CORPUS / "policies").glob("*.md")) + sorted((CORPUS / "histories").glob("*/*.md")):
        kwargs = {"content_type": "text/markdown"}
        yield f"markdown {path.relative_to(CORPUS)}", path.read_text(encoding="utf-8"), kwargs


def _text_files() -> list[Path]:
    return sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt")) + sorted((CORPUS / "policies").glob("*.md"))


def _plain_texts() -> Iterator[Input]:
    """Text bodies (the plain-text path shares the folding): the seeds, and the corpus policies read as text."""
    for path in _text_files():
        yield f"plain {path.name}", path.read_text(encoding="utf-8"), {"content_type": "text/plain"}


FOLD_CASES = ["a , b ( c ) [ d ] e ; f : g ! h ? i .", "x\u00a0,\u2003y (\u3000z )", "漢 字 ( テ ) 。 a , b",
              "“Quoted” — dash -- and ‘single’ … ﬁ ligature", "a\x1c,b\x1d(c\x85)d", "( ) [ ] ( , ) . . ."]


def _fold_inputs() -> list[str]:
    """Every line of the corpus and the seeds, and a few made to hit each folding rule."""
    lines = list(FOLD_CASES)
    for path in _text_files():
        lines += path.read_text(encoding="utf-8").splitlines()
    return lines


SELECTS = ("main", "body", "html", "p", "div", "li", "td", "article", "[role=main]", "main p", "h2 + p", "div > b",
           "p:-soup-contains('cookies')", "a[href^='#']", "#no-such-element")
REMOVES = (("nav",), ("html",), ("body",), ("p",), ("script", "style"), ("div",), ("a",), ("b", "strong"),
           (".cookie-banner", "#nav"), ("[aria-hidden]",), ("main p:first-child",))


def _with_selectors(pages: list[Input]) -> Iterator[Input]:
    for i, (label, body, kwargs) in enumerate(pages):
        yield f"{label} select={SELECTS[i % len(SELECTS)]}", body, {**kwargs, "select": SELECTS[i % len(SELECTS)]}
        remove = REMOVES[i % len(REMOVES)]
        yield f"{label} remove={remove}", body, {**kwargs, "remove": remove}


def _test_literals() -> Iterator[Input]:
    for name in TEST_FILES:
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "<" in node.value:
                yield f"literal {name}:{node.lineno}", node.value, {}


class _Recorder:
    """A pytest plugin recording every (body, select, remove) the port's `_normalize_html` is given."""

    def __init__(self) -> None:
        self.calls: list[Input] = []

    def pytest_configure(self, config) -> None:
        original = port._normalize_html

        def recording(body, select, remove):
            kwargs = {"select": select, "remove": tuple(remove)}
            self.calls.append((f"test call {len(self.calls)}", body, kwargs))
            return original(body, select, remove)

        port._normalize_html = recording
        self.original = original

    def pytest_unconfigure(self, config) -> None:
        port._normalize_html = self.original


def _test_calls() -> list[Input]:
    import pytest

    recorder = _Recorder()
    pytest.main(["-q", "-x", "-p", "no:cacheprovider", *[str(ROOT / f) for f in RECORDED_TEST_FILES]],
                plugins=[recorder])
    # as HTML: the recorded body is already the HTML rendering of any Markdown
    return [(label, body, {"content_type": "text/html", **kw}) for label, body, kw in recorder.calls if body.strip()]


def _outcome(normalize, body: str, kwargs: dict) -> str:
    try:
        return "text:" + normalize(body, **kwargs)
    except Exception as exc:  # the same exception type on both sides counts as the same outcome
        return f"raised:{type(exc).__name__}"


def compare(inputs: list[Input]) -> int:
    differing = 0
    for label, body, kwargs in inputs:
        old, new = _outcome(reference.normalize, body, kwargs), _outcome(port.normalize, body, kwargs)
        if old != new:
            differing += 1
            at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
            print(f"DIFFERS {label} {kwargs}: at {at}: old {old[max(0, at - 60):at + 60]!r}\n"
                  f"{' ' * 8}new {new[max(0, at - 60):at + 60]!r}")
    return differing


def cpu_ms(normalize, page: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        normalize(page)
        best = min(best, time.process_time() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="corpus pages timed (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="timings per page and implementation (the least counts)")
    parser.add_argument("--compare", action="store_true", help="check byte-equality with the reference on all inputs")
    parser.add_argument("--corpus-pages", type=int, default=1000, help="bench corpus pages compared (default 1000)")
    parser.add_argument("--no-tests", action="store_true", help="do not run the test files to record their calls")
    parser.add_argument("--events", action="store_true",
                        help="parse every page through the deep-page path (parser events), not libxml2's tree")
    args = parser.parse_args()
    if args.events:
        import monitor.capture.html_tree as html_tree

        html_tree._AT_DEPTH_LIMIT = lambda root: True

    pages = [body for _, body, _ in bench_pages(args.pages)][:args.pages]
    reference.normalize(pages[0]), port.normalize(pages[0])  # warm-up: imports, regex compilation
    old = [cpu_ms(reference.normalize, page, args.rounds) for page in pages]
    new = [cpu_ms(port.normalize, page, args.rounds) for page in pages]
    size = statistics.median(len(p.encode()) for p in pages) / 1024
    print(f"normalize, {len(pages)} bench_throughput corpus pages (median {size:.0f} KiB), CPU ms/page, "
          f"least of {args.rounds} rounds each:")
    for name, times in (("BeautifulSoup (reference)", old), ("lxml", new)):
        print(f"  {name:26} median {statistics.median(times):6.2f}  p90 {statistics.quantiles(times, n=10)[-1]:6.2f}"
              f"  total {sum(times) / 1000:6.2f} s")
    ratio = statistics.median(o / n for o, n in zip(old, new, strict=True))
    print(f"  speed-up (median of per-page ratios): {ratio:.1f}x")

    if args.compare:
        groups = {"edge cases": [(f"edge {i}", body, {}) for i, body in enumerate(EDGE_CASES)],
                  "tests/fixtures HTML": list(_html_files()), "tests.pages variants": list(_rendered_pages()),
                  "bench_throughput corpus": bench_pages(args.corpus_pages),
                  "corpus Markdown": list(_markdown()), "test literals": list(_test_literals())}
        groups["plain text"] = list(_plain_texts())
        some = groups["edge cases"] + groups["tests.pages variants"][::4] + groups["bench_throughput corpus"][:100] \
            + groups["corpus Markdown"][::10]
        groups["select/remove"] = list(_with_selectors(some))
        if not args.no_tests:
            groups["test calls"] = _test_calls()
        lines = _fold_inputs()
        folded_apart = sum(reference.fold_text(line) != port.fold_text(line) for line in lines)
        print(f"compare fold_text (also the PDF reader's): {len(lines) - folded_apart}/{len(lines)} lines identical")
        total = bad = 0
        for name, inputs in groups.items():
            differing = compare(inputs)
            print(f"compare {name}: {len(inputs) - differing}/{len(inputs)} identical")
            total, bad = total + len(inputs), bad + differing
        print(f"compare: {total - bad}/{total} inputs identical")
        sys.exit(1 if bad or folded_apart else 0)


if __name__ == "__main__":
    main()
