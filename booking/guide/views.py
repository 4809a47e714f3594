"""Guide views: the table of contents and one page per topic."""

import os

from flask import abort, current_app, redirect, url_for

from booking.guide import bp
from booking.guide.pages import SLUG_PATTERN, page_versions, pages_of
from booking.page_cache import render_shared


def override_dir():
    """Where this clinic keeps its own versions of the guide pages."""
    return current_app.config.get("GUIDE_OVERRIDE_DIR") or os.path.join(current_app.instance_path, "guide")


@bp.get("/")
def index():
    """The home page is the guide."""
    return redirect(url_for("guide.contents"))


@bp.get("/guide/")
def contents():
    """The guide's table of contents."""
    # The files' modification times are the content version: each is parsed once per change.
    versions = page_versions(override_dir())
    return render_shared(versions, "guide/contents.html", pages=pages_of(versions))


@bp.get("/guide/<slug>")
def page(slug):
    """One guide page, with links to the previous and next pages."""
    if not SLUG_PATTERN.match(slug):
        abort(404)
    versions = page_versions(override_dir())
    pages = pages_of(versions)
    for position, candidate in enumerate(pages):
        if candidate.slug == slug:
            previous_page = pages[position - 1] if position > 0 else None
            next_page = pages[position + 1] if position + 1 < len(pages) else None
            return render_shared((slug, versions), "guide/page.html", page=candidate, pages=pages,
                                 previous_page=previous_page, next_page=next_page)
    abort(404)
