"""The API's JSON parser: DRF's, refusing with a 400 what would otherwise end in a 500."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from common.text import unstorable_text


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, that also refuses as a parse error JSON nested deeper than Python's
    recursion limit (DRF lets RecursionError through) and strings no database text can hold
    (NUL characters, lone surrogates). A body over DATA_UPLOAD_MAX_MEMORY_SIZE never gets
    here: Django refuses it (common.views.bad_request)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error
        problem = unstorable_text(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
