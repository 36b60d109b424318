"""The API's JSON parser: DRF's, with its errors in the caller's language and a body nested
too deep for Python's recursion a 400 like any other malformed body."""

from __future__ import annotations

import codecs
import json

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            return drf_json.load(decoded, parse_constant=drf_json.strict_constant if self.strict else None)
        except json.JSONDecodeError as exc:
            raise ParseError(
                _("The body is not valid JSON: %(problem)s at line %(line)d, column %(column)d.")
                % {"problem": _json_problem(exc.msg), "line": exc.lineno, "column": exc.colno}
            ) from exc
        except RecursionError as exc:
            raise ParseError(_("The body is not valid JSON: it is nested too deeply.")) from exc
        except ValueError as exc:  # an undecodable byte, NaN or Infinity
            raise ParseError(
                _("The body is not valid JSON: %(problem)s.") % {"problem": _json_problem(str(exc))}
            ) from exc


def _json_problem(message: str) -> str:
    """The JSON decoder's (English) message in the caller's language where we know it."""
    known = {
        "Expecting value": _("a value is missing"),
        "Expecting property name enclosed in double quotes": _("a key must be a string in double quotes"),
        "Expecting ',' delimiter": _("a comma is missing"),
        "Expecting ':' delimiter": _("a colon is missing"),
        "Unterminated string starting at": _("a string is not closed"),
        "Extra data": _("there is more after the JSON value"),
        "Invalid control character at": _("a string holds a control character"),
        "Invalid \\escape": _("a string holds an invalid escape"),
    }
    for prefix, text in known.items():
        if message.startswith(prefix):
            return text
    return _("it cannot be read")


# Messages of DRF's fields that its Simplified Chinese catalogue lacks: listed here so that
# makemessages puts them into ours (LOCALE_PATHS come before the apps' own catalogues).
DRF_UNTRANSLATED = (
    gettext_noop("A valid biginteger is required."),
    gettext_noop("Integer value too large to convert to float"),
    gettext_noop("The number of days must be between {min_days} and {max_days}."),
    gettext_noop("Null characters are not allowed."),  # DRF's Chinese for it says "empty strings"
)
