"""Benchmark: sectioning + per-section diff speed and memory.

Prints four figures (issues 4 and 12):
1. the longest seed (≈57 KB) sectioned twice and diffed against a one-sentence edit: median ms,
   cold (sentence caches cleared every run, as for a fresh process) and warm (as in the daemon);
2. a synthetic 1 MB policy with 2,000 sections, 50 of them edited: seconds and peak RSS;
3. a synthetic 10 MB policy with 1% of its sections edited, rated as a check does (`changes_between`);
4. that policy checked twice as a web page through the whole `check` path (the second time changed).

Run: .venv/bin/python benchmarks/bench_diff.py
"""

from __future__ import annotations

import random
import re
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.compare.diff import diff_sections  # noqa: E402
from monitor.text import sections  # noqa: E402
from monitor.text.sections import parse_sections  # noqa: E402

SEEDS = ROOT / "tests" / "fixtures" / "seeds"


def clear_caches() -> None:
    """Cold start: forget every cached sentence split, comparison form and slug, and the last text read."""
    sections.clear_caches()


def longest_seed() -> str:
    return max((p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")), key=len)


def run_pair(old: str, new: str) -> tuple[float, float]:
    """Wall and CPU seconds to section both versions and diff them."""
    start, cpu = time.perf_counter(), time.process_time()
    changes = diff_sections(parse_sections(old), parse_sections(new))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert changes, "the edit must be found"
    return elapsed, cpu


def bench_seed(runs: int = 31) -> tuple[float, float, float, float, int]:
    old = longest_seed()
    sentence = max((s for s in re.findall(r"[A-Z][^.\n]{80,200}\.", old) if " we " in s), key=len)
    new = old.replace(sentence, sentence.replace(" we ", " we and our partners ", 1), 1)
    assert new != old
    run_pair(old, new)  # import-time work (pysbd rules, regexes) is not per-version cost
    cold = []
    for _ in range(runs):
        clear_caches()
        cold.append(run_pair(old, new))
    warm = [run_pair(old, new) for _ in range(runs)]

    def median_ms(samples: list[tuple[float, float]], which: int) -> float:
        return statistics.median(s[which] for s in samples) * 1000

    return median_ms(cold, 0), median_ms(cold, 1), median_ms(warm, 0), median_ms(warm, 1), len(old)


def synthetic_policy(sections: int = 2000, target_bytes: int = 1_000_000, seed: int = 7) -> str:
    """A big policy made of real policy sentences: 200 numbered sections × 9 numbered subsections."""
    rng = random.Random(seed)
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    sentences = [s.strip() for s in re.findall(r"[A-Z][^.!?\n]{30,300}[.!?]", text)]
    words = sorted({w for w in re.findall(r"[A-Za-z]{4,}", text)})
    per_section = target_bytes // sections - 170  # headings and joins make up the rest

    def sentence() -> str:  # a real sentence made unique, so no cache sees it twice
        words_of = rng.choice(sentences).split(" ")
        words_of.insert(rng.randrange(1, len(words_of)), rng.choice(words).lower())
        return " ".join(words_of)

    tops = sections // 10
    lines = ["# Example Privacy Policy", "", sentence(), ""]
    for top in range(1, tops + 1):
        for sub in range(0, 10):
            title = " ".join(rng.choice(words).capitalize() for _ in range(rng.randint(2, 5)))
            lines.append(f"## {top}. {title}" if sub == 0 else f"### {top}.{sub} {title}")
            lines.append("")
            body = 0
            while body < per_section - 60:
                paragraph = " ".join(sentence() for _ in range(rng.randint(1, 3)))
                if rng.random() < 0.15:
                    items = [sentence() for _ in range(rng.randint(2, 4))]
                    paragraph = sentence().rstrip(".") + ":\n" + "\n".join(f"- {i}" for i in items)
                lines.append(paragraph)
                lines.append("")
                body += len(paragraph) + 2
    return "\n".join(lines)


def edit_sections(text: str, count: int, seed: int = 11) -> str:
    """Change one word in `count` distinct sections' bodies."""
    rng = random.Random(seed)
    blocks = text.split("\n\n")
    first_block_of_section: dict[int, int] = {}
    section = 0
    for i, block in enumerate(blocks):
        if block.startswith("#"):
            section += 1
        elif len(block) > 100 and "\n" not in block:
            first_block_of_section.setdefault(section, i)
    for i in rng.sample(sorted(first_block_of_section.values()), count):
        words = blocks[i].split(" ")
        k = rng.randrange(1, len(words) - 1)
        words[k] = "neverbefore" + words[k]
        blocks[i] = " ".join(words)
    return "\n\n".join(blocks)


def bench_synthetic() -> tuple[float, float, float, int, int, int]:
    old = synthetic_policy()
    new = edit_sections(old, 50)
    clear_caches()
    start, cpu = time.perf_counter(), time.process_time()
    old_sections = parse_sections(old)
    new_sections = parse_sections(new)
    changes = diff_sections(old_sections, new_sections)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return elapsed, cpu, peak_mb, len(old), len(old_sections), len(changes)


def bench_ten_megabytes(queue) -> None:
    """A 10 MB policy with 1% of its sections changed, through the whole rating path of a check
    (`changes_between`: sections, diff, topics, significance), in a process of its own for its RSS."""
    from monitor.meaning.significance import changes_between

    old = synthetic_policy(sections=20_000, target_bytes=10_000_000)
    new = edit_sections(old, 200)
    start, cpu = time.perf_counter(), time.process_time()
    rated = changes_between(old, new)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, cpu, peak_mb, len(old), len(rated), sum(1 for r in rated if not r.substantive)))


def bench_whole_check(queue) -> None:
    """The same 10 MB policy checked twice through the real `check` path (fetch on loopback, normalize,
    judge, section, diff, rate, store in SQLite), the second time with 1% of its sections changed; in a
    process of its own for its RSS. The pages are rendered before the clock starts."""
    import asyncio
    import tempfile

    from loopback import serve_pages  # this folder (a script's own folder is on sys.path)

    from monitor.capture.fetch import Fetcher
    from monitor.config import parse_config
    from monitor.pipeline import check_source, fetch_settings
    from monitor.store.database import Store
    from tests.replay import dress

    old = synthetic_policy(sections=20_000, target_bytes=10_000_000)
    pages = [dress(old, 1).encode(), dress(edit_sections(old, 200), 2).encode()]
    del old
    serving = {"page": pages[0]}

    server = serve_pages(lambda path: serving["page"])
    figures = []

    async def check_twice(database: str) -> None:
        config = parse_config(
            "daemon: {per_host_delay: 0s}\nfetch: {retries: 0}\nsources:\n  - name: big\n"
            f"    url: http://127.0.0.1:{server.server_address[1]}/privacy\n    max_bytes: 50MB\n    timeout: 600s\n")
        store = Store(f"sqlite:///{database}")
        try:
            async with Fetcher(fetch_settings(config)) as fetcher:
                for page in pages:
                    serving["page"] = page
                    start, cpu = time.perf_counter(), time.process_time()
                    result = await check_source(config.sources[0], config=config, store=store, fetcher=fetcher)
                    figures.append((time.perf_counter() - start, time.process_time() - cpu, result.status,
                                    len(result.changes or [])))
        finally:
            store.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(check_twice(f"{tmp}/bench.db"))
    server.shutdown()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((len(pages[0]), figures, peak_mb))


def in_own_process(target):
    """Run `target(queue)` in a fresh process; return what it put on the queue."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(queue,))
    child.start()
    found = queue.get()
    child.join()
    return found


def main() -> None:
    cold_ms, cold_cpu, warm_ms, warm_cpu, size = bench_seed()
    print(f"seed 003 ({size / 1000:.0f} KB) sectioning x2 + diff, median wall (CPU): {cold_ms:.1f} ms "
          f"({cold_cpu:.1f}) cold, {warm_ms:.1f} ms ({warm_cpu:.1f}) warm (target < 50 ms)")
    seconds, cpu, peak_mb, size, count, changes = bench_synthetic()
    print(f"synthetic {size / 1e6:.2f} MB, {count} sections, 50 edited: {seconds:.2f} s wall ({cpu:.2f} s CPU), "
          f"peak RSS {peak_mb:.0f} MB, {changes} changes (target < 2 s, < 200 MB)")
    seconds, cpu, peak_mb, size, rated, form_only = in_own_process(bench_ten_megabytes)
    print(f"synthetic {size / 1e6:.1f} MB, 1% of 20,000 sections edited, rated as a check does: {seconds:.2f} s wall "
          f"({cpu:.2f} s CPU), peak RSS {peak_mb:.0f} MB, {rated} changes of which {form_only} form-only "
          f"(target < 5 s, < 250 MB)")
    size, ((new_wall, new_cpu, _, _), (wall, cpu, status, changes)), peak_mb = in_own_process(bench_whole_check)
    print(f"whole check of that policy as a {size / 1e6:.1f} MB web page on loopback (fetch, normalize, judge, "
          f"section, diff, rate, store): first check {new_wall:.2f} s wall ({new_cpu:.2f} s CPU); after 1% changed "
          f"{wall:.2f} s wall ({cpu:.2f} s CPU), {status}, {changes} changes; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
