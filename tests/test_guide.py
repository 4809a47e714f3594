"""The public guide: every page renders, leads to the intake, and can be overridden."""

import re

import pytest

from booking.guide.pages import PACKAGED_DIR, load_pages, parse_page

PAGES = load_pages(None)
SLUGS = [page.slug for page in PAGES]
TOPICS = ["what-it-is", "history", "how-it-works", "benefits", "risks", "candidacy",
          "choosing-a-provider", "your-consultation"]


def test_the_guide_covers_every_topic_in_order():
    assert SLUGS == TOPICS


def test_home_leads_to_the_guide(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/guide/")


def test_contents_lists_every_page(client):
    html = client.get("/guide/").get_data(as_text=True)
    for page in PAGES:
        assert f'href="/guide/{page.slug}"' in html
        assert page.title in html


@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_renders_with_intake_link_contacts_and_crisis_line(client, app, slug):
    response = client.get(f"/guide/{slug}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/intake/start"' in html
    assert "See if this treatment may be right for you" in html
    assert "not medical advice" in html
    assert "988" in html and "911" in html
    assert app.config["CLINIC_PHONE"] in html and app.config["CLINIC_ADDRESS"] in html
    assert html.count("<h1") == 1


def test_guide_text_corrects_the_source_article():
    text = " ".join(open(f"{PACKAGED_DIR}/{slug}.md", encoding="utf-8").read() for slug in SLUGS)
    assert "2019" in text and "esketamine" in text.lower()
    assert "off-label" in text.lower()
    assert "safe and effective" not in text.lower()
    assert not re.search(r"https?://", text)


def test_unknown_or_malformed_pages_are_404(client):
    assert client.get("/guide/no-such-page").status_code == 404
    assert client.get("/guide/..%2Fconfig").status_code == 404
    assert client.get("/guide/" + "a" * 500).status_code == 404


def test_an_instance_file_overrides_the_packaged_page(client, app, tmp_path):
    folder = tmp_path / "guide"
    folder.mkdir()
    (folder / "risks.md").write_text("---\ntitle: Risks at our clinic\norder: 5\n---\nOur own *words*.\n")
    html = client.get("/guide/risks").get_data(as_text=True)
    assert "Risks at our clinic" in html and "<em>words</em>" in html
    assert "Risks at our clinic" in client.get("/guide/").get_data(as_text=True)


def test_an_instance_file_can_add_a_page(client, tmp_path):
    folder = tmp_path / "guide"
    folder.mkdir()
    (folder / "fees.md").write_text("---\ntitle: Fees\norder: 9\n---\nA consultation costs $150.\n")
    assert "A consultation costs $150." in client.get("/guide/fees").get_data(as_text=True)


def test_front_matter_is_optional_and_headings_shift_below_the_title():
    page = parse_page("plain-page", "# Heading\n\ntext")
    assert page.title == "Plain page"
    assert "<h2>Heading</h2>" in page.html
