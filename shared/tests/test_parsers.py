"""The one JSON parsing step: documents no column, hash or parser can hold are refused, naming why and where."""

import json

import pytest

from shared.parsers import MAX_JSON_DEPTH, InvalidJsonDocument, load_json_document


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def refusal(text: str | bytes) -> str:
    with pytest.raises(InvalidJsonDocument) as refused:
        load_json_document(text)
    return str(refused.value)


def test_an_ordinary_document_parses_as_json_would():
    text = '{"items": [{"product_id": "p-1", "quantity": 2}], "price": 9.99, "note": "Café ☕", "gift": null}'
    assert load_json_document(text) == json.loads(text)


def test_a_nul_in_a_nested_value_is_refused_naming_its_place():
    assert "a NUL character (\\u0000) at $.shipping_address.l" in refusal('{"shipping_address": {"l": "a\\u0000b"}}')


def test_a_lone_surrogate_in_a_value_is_refused():
    assert "a lone surrogate (\\ud800) at $.shipping_address.l" in refusal('{"shipping_address": {"l": "\\ud800"}}')


def test_a_nul_in_a_key_is_refused():
    assert "a NUL character" in refusal('{"ok": [{"a\\u0000": 1}]}')


def test_a_surrogate_pair_is_ordinary_text():
    assert load_json_document('{"emoji": "\\ud83d\\ude00"}') == {"emoji": "😀"}


def test_nesting_up_to_the_limit_parses():
    assert load_json_document(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 940, 100_000])
def test_nesting_past_the_limit_is_refused(depth):
    assert f"deeper than {MAX_JSON_DEPTH} levels" in refusal(nested(depth))


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"note": "[" * 100 + '\\"{' * 50})
    assert load_json_document(text) == json.loads(text)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "9" * 400 + ".0"])
def test_a_float_too_large_to_hold_is_refused(number):
    assert "a number too large to hold" in refusal(f'{{"price": {number}}}')


@pytest.mark.parametrize("number", [str(2**63), str(-(2**63) - 1), "1" + "0" * 5000])
def test_an_integer_beyond_64_bits_is_refused(number):
    assert "an integer too large to hold" in refusal(f'{{"quantity": {number}}}')


def test_the_64_bit_extremes_parse():
    assert load_json_document(f"[{2**63 - 1}, {-(2**63)}]") == [2**63 - 1, -(2**63)]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant):
    assert "not a JSON number" in refusal(f'{{"price": {constant}}}')


def test_bytes_that_are_not_utf8_are_refused():
    assert "not UTF-8" in refusal(b'{"name": "\xff"}')


def test_malformed_json_is_refused_with_the_parsers_reason():
    assert "not valid JSON" in refusal('{"name": ')
