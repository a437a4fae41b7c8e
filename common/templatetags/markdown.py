from django import template
from django.utils.safestring import SafeString

from common.markdown import fence, render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter(name="fenced")
def fenced_filter(code: str, language: str = "") -> str:
    """Code as a fenced Markdown block, for `|markdown` to highlight."""
    return fence(code, language)
