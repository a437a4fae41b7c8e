"""The one Markdown renderer lets no script, handler or foreign scheme through."""

import pytest

from common.markdown import render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)><circle r=5></svg>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<form action=https://evil.example><input name=password></form>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_renders_without_anything_that_runs(source: str) -> None:
    html = str(render_markdown(source)).lower()
    for marker in (
        "<script",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<svg",
        "style=",
        "<form",
        "data:text",
    ):
        assert marker not in html, (source, html)


def test_ordinary_markdown_keeps_its_formatting() -> None:
    html = str(
        render_markdown(
            "# Title\n\n**bold** and [a link](https://example.org)\n\n```python\nx = 1\n```"
        )
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<div class="codehilite"><pre><span></span><code><span class="n">x</span>' in html
