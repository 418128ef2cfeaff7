"""PDF policies: generated in the test, served on loopback, read into the same structured text as HTML."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from io import BytesIO

import pytest

from monitor.capture.browser import CHROMIUM_FLAGS, find_chromium
from monitor.capture.document import document_text, is_pdf
from monitor.capture.normalize import normalize
from monitor.capture.pdf import pdf_text
from monitor.errors import ContentRejected
from tests.capture_sites import LONGER_RETENTION, POLICY, policy_markdown, policy_pdf, scanned_pdf, with_retention
from tests.pages import render_policy, seed_text


def check(cli, config, db, *names):
    result = cli("--config", config, "--db", db, "check", "--json", *names)
    assert result.stdout, result.stderr
    return result.json()["results"]


def test_a_pdf_policy_in_two_versions_gives_a_retention_alert(cli, site, make_config, sqlite_url):
    url = site.set("/legal/privacy.pdf", policy_pdf(POLICY, repeat=2), content_type="application/pdf")
    config = make_config([{"name": "pdf", "url": url}])

    [first] = check(cli, config, sqlite_url)
    site.set("/legal/privacy.pdf", policy_pdf(with_retention(LONGER_RETENTION), repeat=2),
             content_type="application/pdf")
    [second] = check(cli, config, sqlite_url)

    assert first["status"] == "new", first
    assert second["status"] == "changed" and second["alert_topics"] == ["retention"], second
    assert {c["section"] for c in second["changes"]} == {"How long we keep information",
                                                         "How long we keep information (2)"}
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    text, content_type = db.execute("select text, content_type from version where seq = 1").fetchone()
    assert content_type == "application/pdf"
    assert "Page 1" not in text and "Example Inc. - Privacy Policy" not in text  # running header and footer
    assert text.startswith(policy_markdown(POLICY))


def test_structure_headings_reflowed_paragraphs_and_no_page_furniture():
    text = pdf_text(policy_pdf(POLICY, repeat=3))

    assert text.startswith(policy_markdown(POLICY) + "\n\n## Information we collect (2)\n\n")
    assert text.count("\n## ") == 12 and "Page" not in text
    assert all("\n" not in block for block in text.split("\n\n"))  # each paragraph re-flowed into one line


def _typeset(draw) -> bytes:
    """A PDF drawn line by line, as word processors set text (reportlab's canvas)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = BytesIO()
    sheet = canvas.Canvas(out, pagesize=A4)
    draw(sheet, A4[1])
    sheet.save()
    return out.getvalue()


def test_numbered_headings_bullets_hyphens_and_a_paragraph_over_a_page_break():
    def draw(sheet, height):
        lines = [("Helvetica", "3. Sharing", 0), ("Helvetica", "We share your data with:", 18),
                 ("Helvetica", "• payment providers, to take payments;", 14),
                 ("Helvetica", "- hosting providers, to run the service.", 14),
                 ("Helvetica", "We never share it with advertisers or data brokers, and we ask every third-", 18),
                 ("Helvetica", "party provider to delete it when the contract ends. This paragraph goes on", 14)]
        y = height - 100
        for font, text, gap in lines:
            y -= gap
            sheet.setFont(font, 10)
            sheet.drawString(72, y, text)
        sheet.drawString(300, 30, "1")
        sheet.showPage()
        sheet.setFont("Helvetica", 10)
        sheet.drawString(72, height - 100, "over the page break and ends here.")
        sheet.drawString(300, 30, "2")
        sheet.showPage()

    assert pdf_text(_typeset(draw)) == (
        "## 3. Sharing\n\nWe share your data with:\n\n- payment providers, to take payments;\n"
        "- hosting providers, to run the service.\n\nWe never share it with advertisers or data brokers, and we "
        "ask every third-party provider to delete it when the contract ends. This paragraph goes on over the page "
        "break and ends here.")


def test_a_scanned_pdf_without_a_text_layer_is_rejected_with_that_reason(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "scan", "url": site.set("/scan", scanned_pdf(), content_type="application/pdf")}])

    [r] = check(cli, config, sqlite_url)

    assert r["status"] == "rejected" and r["version"] is None
    assert r["error"] == ("scanned PDF: 2 of 2 pages are images with no text layer; policy-monitor reads text and "
                          "does no OCR")


@pytest.mark.parametrize(("body", "reason"), [
    (b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF", "not a readable PDF"),
    (b"%PDF-1.4\n" + b"\x00" * 200, "not a readable PDF"),
])
def test_a_damaged_pdf_is_rejected_never_a_crash(body, reason):
    with pytest.raises(ContentRejected, match=reason):
        document_text(body, content_type="application/pdf")


def test_a_pdf_is_known_by_type_extension_or_first_bytes_and_refuses_select():
    pdf = policy_pdf(POLICY)
    assert is_pdf("application/pdf") and is_pdf("application/octet-stream", "https://x.example/p.pdf")
    assert is_pdf("text/html", "https://x.example/privacy", pdf)  # a server that mislabels it
    assert document_text(pdf, content_type="application/octet-stream", url="https://x.example/p") == pdf_text(pdf)
    with pytest.raises(ContentRejected, match="this is a PDF"):
        document_text(pdf, content_type="application/pdf", select="main")


def test_a_pdf_over_max_bytes_is_an_error_never_a_version(cli, site, make_config, sqlite_url):
    url = site.set("/big.pdf", policy_pdf(POLICY, repeat=3), content_type="application/pdf")
    config = make_config([{"name": "big", "url": url, "max_bytes": "2KB"}])

    [r] = check(cli, config, sqlite_url)

    assert r["status"] == "error" and r["error"] == "response larger than 2 kB (max_bytes)"


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on the PATH: run `make chromium` (apt-get install "
                                                    "chromium) to print the page")
def test_a_policy_printed_to_pdf_by_chromium_reads_like_its_html_page(tmp_path):
    """The commonest real PDF policy: a web page saved as PDF, with the browser's own running header
    (date, title) and footer (address, page n/m) on every page."""
    html = render_policy(seed_text(2), banner=False)
    page = tmp_path / "privacy.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "privacy.pdf"
    subprocess.run([find_chromium(), *CHROMIUM_FLAGS, f"--print-to-pdf={pdf}", page.as_uri()], check=True,
                   capture_output=True, timeout=120)

    from_pdf, from_html = pdf_text(pdf.read_bytes()), normalize(html)

    def blocks(text: str) -> list[str]:  # heading levels are relative in a PDF (font sizes): compare the text
        return [line.lstrip("# ") for line in text.split("\n") if line]

    def headings(text: str) -> list[str]:
        return [line.lstrip("# ") for line in text.split("\n") if line.startswith("#")]

    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes())) >= 3  # pages, each with the browser's furniture
    assert [b for b in blocks(from_pdf) if b in blocks(from_html)] == blocks(from_html)  # all of it, in order
    assert [b for b in blocks(from_pdf) if b not in blocks(from_html)] == [
        "Skip to main content", "Example logo", "- Home", "- Products", "- Pricing", "- Blog", "Related",
        "Terms of Service", "© 2024 Example Inc. All rights reserved.", "Privacy · Terms"]
    assert headings(from_pdf) == headings(from_html) + ["Related"]
    # (a PDF has no <nav> or <footer>: the page's printed chrome is text like any other; the browser's
    # header and footer, repeated on every page, are gone)


def _pdf_with_stream(filters: str, stream: bytes) -> bytes:
    """A one-page PDF whose content stream is `stream`, encoded with `filters`, offsets and xref exact."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter %s >>\nstream\n" % (len(stream), filters.encode()) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_compression_bomb_is_refused_within_the_decoding_budget_and_a_real_stream_still_reads(monkeypatch):
    """pdfminer inflates a stream whole: a 1 MB file of spaces inflated to 2 GB in a review. Every decoder it
    calls counts against one budget per document and stops there, before the memory is taken."""
    import tracemalloc
    import zlib

    from monitor.capture import pdf

    monkeypatch.setattr(pdf, "MAX_DECODED_BYTES", 4_000_000)
    text = b"BT /F1 12 Tf 72 720 Td (We keep your data for six months.) Tj ET\n"
    deflater = zlib.compressobj(9)
    bomb = deflater.compress(text) + b"".join(deflater.compress(b" " * 1_000_000) for _ in range(60)) + deflater.flush()
    assert len(bomb) < 100_000  # 60 MB of content in a few dozen KB
    tracemalloc.start()
    try:
        with pytest.raises(ContentRejected, match="PDF streams decode to more than 3 MB: not read"):
            pdf_text(_pdf_with_stream("/FlateDecode", bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"decoding took {peak:,} bytes: the stream was inflated whole"
    # run-length (a 2-byte run is 128 bytes) and a stream within the budget
    runs = b"".join([b"\x00" + bytes([c]) for c in text]) + b"\x81 " * 40_000 + b"\x80"
    with pytest.raises(ContentRejected, match="decode to more than"):
        pdf_text(_pdf_with_stream("/RunLengthDecode", runs))
    assert "We keep your data for six months." in pdf_text(_pdf_with_stream("/FlateDecode", zlib.compress(text)))
    # run-length within the budget is decoded into bytes (pdfminer's own decoder kept a list of ints), and a
    # text stream encoded as a fax image is refused before its decoder runs for a minute
    runs = b"".join([b"\x00" + bytes([c]) for c in text]) + b"\x81 " * 100 + b"\x80"
    assert "We keep your data for six months." in pdf_text(_pdf_with_stream("/RunLengthDecode", runs))
    fax = _pdf_with_stream("/CCITTFaxDecode /DecodeParms << /K -1 /Columns 100000 >>", b"\xff" * 100)
    with pytest.raises(ContentRejected, match="encoded as a fax image"):
        pdf_text(fax)
