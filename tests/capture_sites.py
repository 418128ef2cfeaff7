"""Real pages for the capture tests: a policy built by JavaScript after load, and a policy PDF made by reportlab.

POLICY is a short policy as (heading, paragraphs) sections; `with_retention(days)` changes what it says
about keeping data, the change a retention alert is about.
"""

from __future__ import annotations

import json
from io import BytesIO

POLICY: list[tuple[str, list[str]]] = [
    ("Information we collect", [
        "We collect the information you give us when you create an account, such as your name, your e-mail "
        "address and the content you share with other members of the service.",
        "We also collect information about how you use the service, such as the pages you visit and the "
        "device and browser you use, to keep the service secure and to improve it.",
    ]),
    ("How we share information", [
        "We do not sell your personal information. We share it with service providers who process it on our "
        "behalf under contracts that require them to protect it, and with authorities when the law requires it.",
    ]),
    ("How long we keep information", [
        "We keep your account information for as long as your account is active and delete it within 30 days "
        "after you close your account, unless the law requires us to keep it longer.",
    ]),
    ("Your rights", [
        "You may access, correct or delete your personal information at any time in your account settings, "
        "and you may object to its processing or ask us to restrict it.",
        "If you have questions about this policy, contact our privacy team at privacy@example.org.",
    ]),
]


def with_retention(text: str) -> list[tuple[str, list[str]]]:
    """POLICY with its retention paragraph replaced by `text`."""
    return [(heading, [text] if heading.startswith("How long") else paragraphs) for heading, paragraphs in POLICY]


LONGER_RETENTION = ("We keep your account information for five years after you close your account, and we keep "
                    "copies in our backups for a further two years.")


def policy_markdown(sections: list[tuple[str, list[str]]], title: str = "Privacy Policy") -> str:
    """The normalized text the capture should give for `sections` (the title a level-1 heading)."""
    blocks = [f"# {title}"]
    for heading, paragraphs in sections:
        blocks += [f"## {heading}", *paragraphs]
    return "\n\n".join(blocks)


# -- a single-page app --------------------------------------------------------------------------------

SHELL = """<!doctype html>
<html><head><meta charset="utf-8"><title>Example</title>
<link rel="stylesheet" href="/static/app.css">
<script defer src="/static/js/main.4f1c2a.js"></script>
<script src="{tracker}"></script>
</head>
<body><noscript>You need to enable JavaScript to run this app.</noscript>
<div id="root"></div>
<img src="/static/pixel.png" alt="">
</body></html>"""

# Fetches the policy from the site's API after load, then builds the DOM; with `late_ms` it waits first
# and keeps polling the API (a page that never goes network-idle, as chat widgets and live feeds do).
APP_JS = """
(function () {
  var poll = %(poll)s, late = %(late)d;
  function build(policy) {
    var root = document.getElementById("root");
    var html = '<header><nav><a href="/">Home</a></nav></header><main id="policy"><h1>' + policy.title + '</h1>';
    policy.sections.forEach(function (s) {
      html += '<h2>' + s.heading + '</h2>';
      s.paragraphs.forEach(function (p) { html += '<p>' + p + '</p>'; });
    });
    root.innerHTML = html + '</main><footer>Example Inc.</footer>';
  }
  function load() { fetch("/api/policy.json").then(function (r) { return r.json(); }).then(build); }
  setTimeout(load, late);
  if (poll) { setInterval(function () { fetch("/api/ping"); }, 100); }
})();
"""

TRACKER_JS = 'document.body.insertAdjacentHTML("beforeend", "<p>TRACKER WAS HERE</p>");'


def serve_app(site, sections, *, path: str = "/privacy", late_ms: int = 0, poll: bool = False,
              tracker: str = "") -> str:
    """Serve a single-page app at `path` whose policy (`sections`) arrives from /api/policy.json."""
    site.set("/static/js/main.4f1c2a.js", APP_JS % {"poll": "true" if poll else "false", "late": late_ms},
             content_type="application/javascript")
    site.set("/static/app.css", "body { font-family: serif }", content_type="text/css")
    site.set("/static/pixel.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    site.set("/api/ping", "{}", content_type="application/json")
    site.set("/tracker.js", TRACKER_JS, content_type="application/javascript")
    serve_policy_json(site, sections)
    return site.set(path, SHELL.format(tracker=tracker or "/static/none.js"))


def serve_policy_json(site, sections, title: str = "Privacy Policy") -> None:
    body = {"title": title, "sections": [{"heading": h, "paragraphs": p} for h, p in sections]}
    site.set("/api/policy.json", json.dumps(body), content_type="application/json")


# -- a PDF --------------------------------------------------------------------------------------------

def policy_pdf(sections, *, title: str = "Privacy Policy", running_header: str = "Example Inc. - Privacy Policy",
               repeat: int = 1) -> bytes:
    """A typeset policy: title, section headings in a larger bold face, justified paragraphs, a running
    header and a "Page N" footer on every page. `repeat` > 1 repeats the sections, each round on a new page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()

    def furniture(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(72, A4[1] - 40, running_header)
        canvas.drawRightString(A4[0] - 72, 30, f"Page {doc.page}")
        canvas.restoreState()

    story = [Paragraph(title, styles["Title"])]
    for round_ in range(repeat):
        story += [PageBreak()] if round_ else []
        for heading, paragraphs in sections:
            story.append(Paragraph(heading if round_ == 0 else f"{heading} ({round_ + 1})", styles["Heading2"]))
            story += [Paragraph(p, styles["BodyText"]) for p in paragraphs]
    out = BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=title).build(story, onFirstPage=furniture, onLaterPages=furniture)
    return out.getvalue()


def scanned_pdf(pages: int = 2) -> bytes:
    """A 'scanned' PDF: every page one image, no text layer."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    scan = Image.new("L", (200, 280), 255)
    for x in range(20, 180):  # a few grey "lines of text" in the picture
        for y in range(30, 250, 12):
            scan.putpixel((x, y), 60)
    out = BytesIO()
    sheet = canvas.Canvas(out, pagesize=A4)
    for _ in range(pages):
        sheet.drawImage(ImageReader(scan), 0, 0, width=A4[0], height=A4[1])
        sheet.showPage()
    sheet.save()
    return out.getvalue()
