"""Guide pages: Markdown files with a small front-matter block, overridable per clinic.

A file in the override folder (instance/guide/ by default) replaces the packaged file of
the same name, and a new file there adds a page, so a clinic edits its text without code.
"""

import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache

import markdown
from markupsafe import Markup

PACKAGED_DIR = os.path.join(os.path.dirname(__file__), "content")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass(frozen=True)
class GuidePage:
    """One rendered guide page."""

    slug: str
    title: str
    summary: str
    order: int
    html: Markup
    shows_costs: bool = False  # front matter `costs: yes`: the clinic's prices are shown below the text


def parse_page(slug, text):
    """Split front matter (title, summary, order, costs) from the Markdown body and render it."""
    meta = {}
    match = FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip()
        text = text[match.end():]
    title = meta.get("title") or slug.replace("-", " ").capitalize()
    try:
        order = int(meta.get("order", 100))
    except ValueError:
        order = 100
    # Shift headings down one level: the page title is the only <h1>.
    body = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    body = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", body)
    return GuidePage(slug=slug, title=title, summary=meta.get("summary", ""), order=order, html=Markup(body),
                     shows_costs=meta.get("costs", "").lower() in ("yes", "true"))


def page_files(override_dir):
    """Map slug -> path, the override folder winning over the packaged pages."""
    files = {}
    for folder in (PACKAGED_DIR, override_dir):
        if not folder or not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            slug, ext = os.path.splitext(name)
            if ext == ".md" and SLUG_PATTERN.match(slug):
                files[slug] = os.path.join(folder, name)
    return files


@lru_cache(maxsize=256)
def _load(path, mtime_ns):
    """Parse one file; cached until the file changes."""
    slug = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as handle:
        return parse_page(slug, handle.read())


CHECK_SECONDS = 1.0  # how often a process looks at the guide's folders: an edit shows within this
_checked = {}  # override folder -> (clock reading of the last look, the versions it found)
clock = time.monotonic


def page_versions(override_dir):
    """(path, modification time) of every guide file in use: the guide's content version.

    The folders are listed and the files stat'ed at most once per CHECK_SECONDS in a process
    (eleven system calls that were a tenth of a guide page's cost), so an edited, added or
    removed page shows within a second.
    """
    now = clock()
    held = _checked.get(override_dir)
    if held is not None and 0 <= now - held[0] < CHECK_SECONDS:
        return held[1]
    versions = tuple((path, os.stat(path).st_mtime_ns) for path in page_files(override_dir).values())
    if len(_checked) >= 16:  # one folder per app in practice; tests make many
        _checked.clear()
    _checked[override_dir] = (now, versions)
    return versions


@lru_cache(maxsize=16)
def pages_of(versions):
    """The pages of these file versions (`page_versions`), in reading order."""
    return tuple(sorted((_load(path, mtime_ns) for path, mtime_ns in versions),
                        key=lambda page: (page.order, page.title)))


def load_pages(override_dir):
    """All guide pages, in reading order."""
    return list(pages_of(page_versions(override_dir)))
