"""Text a database cannot hold: found before it reaches one, so that the answer is a 400."""

from __future__ import annotations

from typing import Any


def unstorable_text(data: Any) -> str:
    """Say what is wrong with the first string (a key or a value, at any depth) that no
    database text can hold: a NUL character (PostgreSQL refuses them in text and jsonb) or a
    lone surrogate (not Unicode at all). An empty string when every string can be stored."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                return "Text may not contain NUL characters."
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "Text may not contain lone surrogates (\\ud800-\\udfff)."
    return ""
