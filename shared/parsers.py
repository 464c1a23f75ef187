"""The one JSON parsing step of every service: a document the database or the parser cannot hold is a 400.

Python's ``json`` accepts things no part of the shop can store or hash: ``\\u0000``
(PostgreSQL text and jsonb refuse NUL), lone surrogates such as ``\\ud800`` (not
encodable as UTF-8, so hashing or saving the value fails), documents nested so deep
the parser itself runs out of stack (``RecursionError``), numbers too large for a float
(``1e400`` becomes infinity) and integers beyond 64 bits (no column holds them). Each
used to surface as a 500 wherever the value first hurt; here the whole document is
checked once, before any view sees it, and the answer names what is wrong and where.

:func:`load_json_document` is the rule; :class:`JSONParser` (``DEFAULT_PARSER_CLASSES``)
applies it to every DRF view.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32
# Beyond a signed 64-bit integer (PostgreSQL's bigint) no column can hold the value.
LARGEST_INTEGER = 2**63 - 1
# Text PostgreSQL refuses (NUL) or UTF-8 cannot encode (a surrogate without its pair).
UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# A string (escapes included) or a bracket: what the depth scan must see, and nothing else.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class InvalidJsonDocument(ValueError):
    """The body is not JSON the shop accepts; the message says why and where (``$.items.0.name``)."""


def load_json_document(text: str | bytes) -> Any:
    """The parsed document, once it is valid JSON no deeper than :data:`MAX_JSON_DEPTH` whose every
    string (keys too) is storable text and every number fits a column.

    Raises :class:`InvalidJsonDocument` naming the first problem found.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJsonDocument(f"The body is not UTF-8 ({exc.reason} at byte {exc.start}).") from None
    # Measured on the text first, so json never recurses deeper than the limit allows.
    _check_depth(text)
    try:
        document = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int64)
    except InvalidJsonDocument:
        raise
    except ValueError as exc:
        raise InvalidJsonDocument(f"The body is not valid JSON: {exc}.") from None
    _check_strings(document, "$")
    return document


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with :func:`load_json_document`'s rules: a refused document is a 400 problem."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            text = codecs.getreader(encoding)(stream).read()
            return load_json_document(text)
        except InvalidJsonDocument as exc:
            raise ParseError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not {encoding} ({exc.reason} at byte {exc.start}).") from None


def _check_depth(text: str) -> None:
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise InvalidJsonDocument(f"The body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels.")
        elif found in "]}":
            depth -= 1


def _check_strings(value: Any, path: str) -> None:
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, f"{path}.{key}")
            _check_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}.{index}")


def _check_text(text: str, path: str) -> None:
    found = UNSTORABLE_CHARACTER.search(text)
    if found is None:
        return
    character = found.group()
    what = "a NUL character (\\u0000)" if character == "\x00" else f"a lone surrogate (\\u{ord(character):04x})"
    # The path may hold the bad character itself (a key): shown escaped, as JSON would write it.
    where = json.dumps(path)[1:-1]
    raise InvalidJsonDocument(f"The body has {what} at {where}; text may contain neither NUL nor lone surrogates.")


def _refuse_constant(name: str) -> Any:
    raise InvalidJsonDocument(f"The body has {name}, which is not a JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidJsonDocument(f"The body has a number too large to hold ({_excerpt(text)}).")
    return number


def _int64(text: str) -> int:
    if len(text) > 20:  # before int(), which would spend time on (or refuse) thousands of digits
        raise InvalidJsonDocument(f"The body has an integer too large to hold ({_excerpt(text)}).")
    number = int(text)
    if not -LARGEST_INTEGER - 1 <= number <= LARGEST_INTEGER:
        raise InvalidJsonDocument(f"The body has an integer too large to hold ({text}).")
    return number


def _excerpt(text: str) -> str:
    return text if len(text) <= 20 else f"{text[:20]}..."
