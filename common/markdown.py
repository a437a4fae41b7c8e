"""The one way Markdown from staff, content files or contributors becomes HTML: rendered (code
highlighted by Pygments), then sanitised with an allow-list, so that no script, handler or
foreign frame survives."""

from __future__ import annotations

import functools

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe
from pygments.formatters import HtmlFormatter

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
    "th": {"align"},
    "td": {"align"},
}


def render_markdown(text: str) -> SafeString:
    """Render Markdown to sanitised HTML."""
    html = markdown_lib.markdown(
        text or "",
        extensions=["fenced_code", "codehilite", "tables", "sane_lists"],
        extension_configs={"codehilite": {"guess_lang": False, "css_class": "codehilite"}},
    )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above; the only mark_safe


def fence(code: str, language: str = "") -> str:
    """Wrap code in a Markdown fence longer than any run of backticks inside it."""
    ticks = "`" * max(3, _longest_backtick_run(code) + 1)
    return f"{ticks}{language}\n{code}\n{ticks}\n"


def _longest_backtick_run(text: str) -> int:
    best = current = 0
    for character in text:
        current = current + 1 if character == "`" else 0
        best = max(best, current)
    return best


@functools.cache
def highlight_css() -> str:
    """The colours of highlighted code (Pygments' monokai), for the `codehilite` blocks."""
    return HtmlFormatter(style="monokai").get_style_defs(".codehilite")
