"""The guard: pages that are not the policy never become versions; real policies, even short ones, do."""

from __future__ import annotations

import pytest

from monitor.capture.guard import detect_language, judge
from tests.pages import edit, seed_text

SHORT_POLICY = """# Privacy Policy

Small Bakery Ltd. runs this website. This notice explains what personal data we collect and why.

## What we collect

When you order a cake we collect your name, email address, phone number and delivery address.
We do not use cookies for advertising.

## How we use it

We use your information only to bake and deliver your order and to contact you about it.
We do not sell or share your personal data with third parties, except the courier who delivers.

## How long we keep it

We retain order details for two years for our tax records, then delete them.

## Your rights

You may ask for a copy of your data, or ask us to correct or delete it, at any time.
Contact us at hello@bakery.example. Children under 13 should not place orders.
"""

CLOUDFLARE = """Just a moment...

Checking if the site connection is secure

example.org needs to review the security of your connection before proceeding.

Ray ID: 7f1a2b3c4d5e6f70

Performance & security by Cloudflare"""


def headed(n_sections: int, words_per_section: int = 60, title: str = "Section") -> str:
    """A policy-like text with Markdown headings, as the normalizer writes them."""
    body = ("We collect and use your personal information to provide the service and we share it "
            "with service providers only as this policy describes. ")
    words = body.split()
    parts = ["# Privacy Policy"]
    for i in range(1, n_sections + 1):
        parts.append(f"## {i}. {title} {chr(64 + i)} about data")
        parts.append(" ".join((words * 20)[:words_per_section]))
    return "\n\n".join(parts)


def test_a_real_policy_is_accepted_first_time_and_again():
    for n in range(5):
        text = seed_text(n)
        assert judge(text, language="en").accepted
        assert judge(text, previous=text, language="en") == judge(text, language="en")


def test_a_short_real_policy_of_about_150_words_is_accepted():
    assert 120 < len(SHORT_POLICY.split()) < 200
    verdict = judge(SHORT_POLICY, language="en")
    assert verdict.accepted and not verdict.needs_confirmation


def test_a_small_edit_to_a_policy_is_accepted_without_confirmation():
    text = seed_text(2)
    verdict = judge(edit(text, "top priority", "main concern"), previous=text, language="en")
    assert verdict.accepted and not verdict.needs_confirmation


@pytest.mark.parametrize("page, rule", [
    (CLOUDFLARE, "captcha"),
    ("Access denied\n\nYou don't have permission to access this resource on this server.\n\nRef #18.2f",
     "captcha"),
    ("Please verify you are a human\n\nPress & Hold to confirm you are a human (and not a bot).", "captcha"),
    ("Our systems have detected unusual traffic from your computer network. This page checks to see if "
     "it's really you sending the requests, and not a robot.", "captcha"),
    ("Sign in to continue\n\nEmail or phone\n\nPassword\n\nForgot password?\n\nCreate account", "login"),
    ("Log in\n\nUsername\n\nPassword\n\nRemember me\n\nForgot your password?", "login"),
    ("We're currently under maintenance\n\nWe'll be back soon. Thank you for your patience.", "maintenance"),
    ("Oops! Something went wrong.\n\nPage not found. The page you are looking for does not exist.", "maintenance"),
    ("503 Service Unavailable\n\nThe server is temporarily unable to service your request.", "maintenance"),
    ("Error\n\nAn error occurred while processing your request. Please try again later.", "maintenance"),
])
def test_walls_and_error_pages_served_with_200_are_rejected(page, rule):
    verdict = judge(page, language="en")
    assert not verdict.accepted and verdict.rule == rule
    assert verdict.reason and "not the policy" in verdict.reason


def test_a_wall_replacing_a_known_policy_is_rejected_not_confirmed():
    verdict = judge(CLOUDFLARE, previous=seed_text(1), language="en")
    assert not verdict.accepted and verdict.rule == "captcha"


def test_a_long_policy_that_mentions_wall_phrases_is_still_a_policy():
    text = seed_text(2) + ("\n\nIf access is attempted without permission, access denied messages may be shown. "
                           "Sign in to continue using your account settings. Our service may be under "
                           "maintenance at times; we use a CAPTCHA to block unusual traffic.")
    assert judge(text, language="en").accepted
    assert judge(text, previous=seed_text(2), language="en").accepted


def test_a_short_policy_that_mentions_sign_in_and_captcha_once_is_accepted():
    text = SHORT_POLICY + "\nSign in to your account to see your orders. Our order form uses a captcha.\n"
    assert judge(text, language="en").accepted


@pytest.mark.parametrize("page", ["", "   \n\n  ", "<div></div>", "Privacy Policy", "Loading…",
                                  "Home | About | Contact | Privacy Policy | Terms of Service"])
def test_empty_and_near_empty_pages_are_rejected(page):
    verdict = judge(page, language="en")
    assert not verdict.accepted and verdict.rule in ("empty", "near-empty")


def test_a_page_of_navigation_words_is_not_a_policy():
    page = " ".join(["Products Pricing Blog Careers Press Investors Support Community"] * 8)
    verdict = judge(page, language="en")
    assert not verdict.accepted and verdict.rule == "near-empty"


def _first_lines(text: str, share: float) -> str:
    """The text cut at a line boundary (a shorter policy, not a capture that breaks off mid-line)."""
    lines = text.splitlines()
    return "\n".join(lines[: int(len(lines) * share)])


def test_a_page_far_shorter_than_the_previous_version_needs_a_confirming_refetch():
    text = seed_text(2)
    verdict = judge(_first_lines(text, 1 / 3), previous=text, language="en")
    assert verdict.accepted and verdict.needs_confirmation and verdict.rule in ("shrink", "truncated")


def test_a_page_that_breaks_off_mid_line_is_rejected_outright():
    text = seed_text(2)
    verdict = judge(text[: len(text) // 3], previous=text, language="en")
    assert not verdict.accepted and verdict.rule == "truncated" and "breaks off" in verdict.reason


def test_a_page_that_lost_nearly_everything_is_rejected_outright():
    text = seed_text(3)
    verdict = judge(" ".join(text.split()[:90]), previous=text, language="en")
    assert not verdict.accepted and verdict.rule == "shrink"


def test_a_page_cut_off_before_its_end_needs_confirmation():
    text = seed_text(1)
    lines = text.splitlines()
    verdict = judge("\n".join(lines[: int(len(lines) * 0.75)]), previous=text, language="en")
    assert verdict.accepted and verdict.needs_confirmation and verdict.rule == "truncated"


def test_most_headings_gone_needs_confirmation_even_at_the_same_length():
    old = headed(8, title="Section")
    new = headed(8, title="Chapter")
    verdict = judge(new, previous=old, language="en")
    assert verdict.accepted and verdict.needs_confirmation and verdict.rule == "headings"


def test_another_policy_at_the_address_needs_confirmation_even_when_it_is_longer():
    # the trial's case: a short policy with two headings replaced by another company's longer one (real seeds)
    old, new = seed_text(0), seed_text(3)
    verdict = judge(new, previous=old, language="en")
    assert verdict.accepted and verdict.needs_confirmation and verdict.rule == "replaced", verdict


def test_a_rewrite_that_keeps_a_tenth_of_the_lines_is_not_drastic():
    text = seed_text(4)
    lines = [line for line in text.splitlines() if line.strip()]
    kept = lines[: len(lines) // 5]  # a fifth of the lines kept, the rest new
    new = "\n\n".join(kept + [f"{line} (revised)" for line in lines[len(lines) // 5:]])
    verdict = judge(new, previous=text, language="en")
    assert verdict.accepted and verdict.rule != "replaced", verdict


def test_renumbered_headings_are_not_a_drastic_change():
    old = headed(8)
    new = old.replace("## 1. ", "## 0. ").replace("## 2. ", "## 1. ")
    verdict = judge(new, previous=old, language="en")
    assert verdict.accepted and not verdict.needs_confirmation


def test_growth_is_never_drastic():
    text = seed_text(4)
    verdict = judge(text + "\n\n" + seed_text(2), previous=text, language="en")
    assert verdict.accepted and not verdict.needs_confirmation


GERMAN = ("# Datenschutzerklärung\n\nWir verarbeiten Ihre personenbezogenen Daten nur, wenn Sie uns Ihre "
          "Einwilligung geben oder wenn das Gesetz es erlaubt. Die Daten werden nicht an Dritte weitergegeben, "
          "es sei denn, wir sind dazu verpflichtet. Sie haben das Recht auf Auskunft, Berichtigung und "
          "Löschung der Daten, die wir über Sie speichern. Wenn Sie Fragen haben, schreiben Sie uns. ") * 3
FRENCH = ("# Politique de confidentialité\n\nNous traitons vos données personnelles pour vous fournir le "
          "service et pour respecter nos obligations. Vous pouvez exercer vos droits d'accès et de "
          "suppression en nous écrivant. Les données sont conservées pendant la durée de votre compte et "
          "ne sont pas vendues à des tiers. ") * 3
CHINESE = "隐私政策\n\n" + ("我们非常重视您的个人信息和隐私保护。"
                         "我们会按照法律法规的要求收集、使用和保护您的个人信息，不会向第三方出售您的数据。") * 6
JAPANESE = "プライバシーポリシー\n\n" + ("当社は、お客様の個人情報を適切に取り扱い、法令に従って保護します。"
                                 "個人情報を第三者に提供することはありません。") * 6


@pytest.mark.parametrize("text, language", [
    (seed_text(2), "en"), (GERMAN, "de"), (FRENCH, "fr"), (CHINESE, "zh"), (JAPANESE, "ja"),
])
def test_language_detector_names_the_main_language(text, language):
    assert detect_language(text) == language


def test_too_little_text_has_no_language():
    assert detect_language("Privacy Policy") is None


def test_a_sudden_switch_to_another_language_is_rejected():
    verdict = judge(GERMAN, previous=seed_text(2), language="en")
    assert not verdict.accepted and verdict.rule == "language"
    assert "German" in verdict.reason and "English" in verdict.reason


def test_returning_to_the_expected_language_is_accepted():
    verdict = judge(seed_text(2), previous=GERMAN, language="en-US")
    assert verdict.accepted and verdict.rule != "language"


def test_a_first_page_in_another_language_than_configured_is_rejected_with_the_fix():
    verdict = judge(FRENCH, language="en")
    assert not verdict.accepted and verdict.rule == "language"
    assert "language: fr" in verdict.reason


def test_the_configured_language_with_a_region_matches():
    assert judge(GERMAN, language="de-DE").accepted
    assert judge(GERMAN, previous=GERMAN, language="de-AT").accepted
    assert judge(CHINESE, language="zh-Hans").accepted


# One paragraph each, as the privacy pages of those countries word it (repeated to a policy's length).
OTHER_LATIN = {
    "sv": "Vi behandlar dina personuppgifter för att kunna leverera tjänsten och för att uppfylla våra "
          "skyldigheter enligt lag. Du har rätt att begära utdrag, rättelse och radering av dina uppgifter. "
          "Vi säljer inte dina uppgifter och lämnar dem inte till andra än våra leverantörer.",
    "da": "Vi behandler dine personoplysninger for at kunne levere tjenesten og for at overholde vores "
          "forpligtelser efter loven. Du har ret til at få indsigt i, berigtige og slette dine oplysninger. "
          "Vi sælger ikke dine oplysninger og videregiver dem ikke til andre end vores leverandører.",
    "pl": "Przetwarzamy Twoje dane osobowe w celu świadczenia usługi oraz wypełnienia obowiązków prawnych. "
          "Masz prawo do dostępu do swoich danych, ich sprostowania i usunięcia. Nie sprzedajemy Twoich "
          "danych i przekazujemy je tylko naszym dostawcom, którzy działają w naszym imieniu.",
    "cs": "Vaše osobní údaje zpracováváme, abychom vám mohli poskytovat službu a plnit naše zákonné "
          "povinnosti. Máte právo na přístup k údajům, jejich opravu a výmaz. Vaše údaje neprodáváme a "
          "předáváme je pouze našim dodavatelům, kteří pro nás pracují jako zpracovatelé.",
    "tr": "Kişisel verilerinizi hizmeti sunmak ve yasal yükümlülüklerimizi yerine getirmek için işliyoruz. "
          "Verilerinize erişme, bunları düzeltme ve silme hakkına sahipsiniz. Verilerinizi satmıyoruz ve "
          "yalnızca bizim adımıza çalışan hizmet sağlayıcılarla paylaşıyoruz, bu da sizin güvenliğiniz için.",
    "ro": "Prelucrăm datele dumneavoastră cu caracter personal pentru a furniza serviciul și pentru a ne "
          "îndeplini obligațiile legale. Aveți dreptul de acces, de rectificare și de ștergere a datelor. "
          "Nu vindem datele dumneavoastră și le transmitem doar furnizorilor care lucrează pentru noi.",
    "hu": "Személyes adatait a szolgáltatás nyújtása és a jogszabályi kötelezettségeink teljesítése "
          "érdekében kezeljük. Önnek joga van az adataihoz való hozzáféréshez, azok helyesbítéséhez és "
          "törléséhez. Az adatait nem adjuk el, és csak az általunk megbízott szolgáltatóknak adjuk át.",
    "fi": "Käsittelemme henkilötietojasi, jotta voimme tarjota palvelun ja täyttää lakisääteiset "
          "velvoitteemme. Sinulla on oikeus saada pääsy tietoihisi sekä oikaista ja poistaa ne. Emme myy "
          "tietojasi, ja luovutamme niitä vain palveluntarjoajille, jotka toimivat meidän lukuumme.",
    "id": "Kami memproses data pribadi Anda untuk menyediakan layanan dan untuk memenuhi kewajiban hukum "
          "kami. Anda berhak untuk mengakses, memperbaiki, dan menghapus data Anda. Kami tidak menjual data "
          "Anda dan hanya membagikannya dengan penyedia layanan yang bekerja atas nama kami.",
    "vi": "Chúng tôi xử lý dữ liệu cá nhân của bạn để cung cấp dịch vụ và để thực hiện các nghĩa vụ pháp "
          "lý. Bạn có quyền truy cập, chỉnh sửa và xóa dữ liệu của mình. Chúng tôi không bán dữ liệu của bạn "
          "và chỉ chia sẻ với các nhà cung cấp dịch vụ làm việc cho chúng tôi.",
}


@pytest.mark.parametrize("language", sorted(OTHER_LATIN))
def test_a_switch_from_english_to_any_common_latin_script_language_is_rejected(language):
    text = "# Privacy\n\n" + (OTHER_LATIN[language] + " ") * 5

    assert detect_language(text) == language
    verdict = judge(text, previous=seed_text(2), language="en")
    assert not verdict.accepted and verdict.rule == "language", verdict
    assert judge(text, previous=text, language=language).accepted


def test_norwegian_configured_is_the_danish_norwegian_family():
    text = "# Personvern\n\n" + ("Vi behandler dine personopplysninger for å kunne levere tjenesten. Du har rett "
                               "til innsyn, retting og sletting av dine opplysninger, og vi selger dem ikke til "
                               "andre enn våre leverandører som er underlagt avtale med oss. ") * 5
    assert judge(text, language="nb-NO").accepted


def test_every_seed_policy_reads_as_english():
    assert [detect_language(seed_text(n)) for n in range(5)] == ["en"] * 5


def test_an_unknown_configured_language_is_not_second_guessed():
    welsh = ("# Polisi preifatrwydd\n\nRydym yn prosesu eich data personol er mwyn darparu'r gwasanaeth. "
             "Mae gennych hawl i gael mynediad at eich data a gofyn i ni ei ddileu. ") * 6
    assert judge(welsh, language="cy").accepted


def test_leftover_markup_is_not_counted_as_words():
    page = "<div><span></span><script></script></div>" * 50 + "<p>Loading</p>"
    verdict = judge(page, language="en")
    assert not verdict.accepted


@pytest.mark.parametrize("final", ["https://example.org/", "https://example.org", "https://example.org/en/",
                                   "https://example.org/de-de", "https://example.org/index.html",
                                   "https://www.example.org/home"])
def test_a_policy_url_redirected_to_a_home_page_is_rejected(final):
    verdict = judge(seed_text(2), language="en", requested_url="https://example.org/legal/privacy", final_url=final)
    assert not verdict.accepted and verdict.rule == "redirect" and final in verdict.reason


def test_a_policy_that_lives_at_the_root_of_its_own_site_is_fine():
    assert judge(seed_text(2), language="en", requested_url="https://privacy.example.org/",
                 final_url="https://privacy.example.org/").accepted


def test_a_drastic_change_from_a_new_address_is_rejected_but_the_same_text_from_it_is_accepted():
    old = seed_text(3)
    new = _first_lines(old, 0.05)
    urls = dict(requested_url="https://example.org/privacy", previous_url="https://example.org/privacy")
    moved = judge(new, previous=old, language="en", final_url="https://example.org/blog/post", **urls)
    assert not moved.accepted and moved.rule == "redirect"
    assert judge(new, previous=old, language="en", final_url="https://example.org/privacy/", **urls).needs_confirmation
    assert judge(old, previous=old, language="en", final_url="https://www.example.org/legal/privacy", **urls).accepted


@pytest.mark.parametrize("final", ["https://example.org/index.php?page=privacy", "https://example.org/?p=123",
                                   "https://privacy.example.org/", "https://example.org/pp",
                                   "https://example.org/en/privacy"])
def test_redirects_that_are_not_to_the_home_page_are_judged_on_their_text(final):
    assert judge(seed_text(2), language="en", requested_url="https://example.org/legal/privacy",
                 final_url=final).accepted


def test_once_the_url_is_updated_to_the_new_address_the_new_text_is_accepted():
    old = seed_text(3)
    new = _first_lines(old, 0.05)
    verdict = judge(new, previous=old, language="en", requested_url="https://example.org/new/privacy",
                    final_url="https://example.org/new/privacy", previous_url="https://example.org/privacy")
    assert verdict.rule != "redirect" and verdict.needs_confirmation


def test_a_capture_that_breaks_off_inside_a_line_of_the_previous_version_is_truncated():
    previous = seed_text(1)
    lines = [line for line in previous.splitlines() if line.strip()]
    long_line = next(i for i, line in enumerate(lines) if i > 20 and len(line) > 80)
    cut = "\n".join(lines[:long_line] + [lines[long_line][:40]])  # as real archives recorded cut pages
    verdict = judge(cut, previous="\n".join(lines), language="en")
    assert not verdict.accepted and verdict.rule == "truncated" and "breaks off" in verdict.reason


def test_a_policy_that_really_lost_its_last_sections_is_not_truncated():
    previous = seed_text(1)
    shorter = _first_lines(previous, 0.9)
    verdict = judge(shorter, previous=previous, language="en")
    assert "breaks off" not in (verdict.reason or "")


def test_a_last_sentence_dropped_from_the_last_line_is_an_edit_not_a_truncation():
    previous = seed_text(1)
    lines = [line for line in previous.splitlines() if line.strip()]
    last = len(lines) - 1
    lines[last] = lines[last].rstrip() + " We will notify you by e-mail of any material change."
    longer = "\n".join(lines)
    verdict = judge(previous, previous=longer, language="en")  # the appended sentence is removed again
    assert "breaks off" not in (verdict.reason or "")


@pytest.mark.parametrize("text", [
    SHORT_POLICY, SHORT_POLICY.replace("We ", "Wé "), seed_text(0), seed_text(2).replace("data", "dätä\u00a0data"),
    "don't it's o'neil's a'b'c 'quoted' 90's 1st covid19 iso27001 ² 1² ½ Ⅳ x_y a\u0301b café·bar §3 data,collection",
    "Wir verarbeiten Ihre Daten für die Erfüllung des Vertrags; wir geben sie nicht weiter. " * 5,
    "我们收集的个人信息 隐私 数据 データ プライバシー 個人情報 개인정보 conf 2024 " * 8,
    "Мы обрабатываем персональные данные и соблюдаем конфиденциальность. " * 6 + "ελληνικά \ud800 end",
])
def test_a_page_profile_counts_the_words_the_word_regex_finds(text):
    # the profile counts words without running the regex over the whole text: the same counts as running it
    import unicodedata
    from collections import Counter

    from monitor.capture import guard

    guard._profile.cache_clear()
    profile = guard._profile(text)
    folded = " ".join(guard._TAG.sub(" ", unicodedata.normalize("NFKC", text)).lower().replace("’", "'").split())
    tokens = guard._WORD.findall(folded)
    cjk = len(guard._CJK.findall(folded))
    assert profile.folded == folded
    assert profile.words == sum(1 for t in tokens if not guard._is_cjk(t[0])) + cjk // 2
    assert profile.policy_terms == len(guard._POLICY_TERMS.intersection(tokens)) \
        + 2 * sum(1 for term in guard._POLICY_TERMS_CJK if term in folded)
    assert profile.language == guard._detect_language(Counter(tokens), folded)
