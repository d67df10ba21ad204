"""The SMS transport's form encoding: what a form decoder reads back is exactly what the twilio client gave."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from channels.sms import form_encode

_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.dictionaries(st.text(min_size=1, max_size=12), _values, min_size=1, max_size=5))
def test_any_text_round_trips_through_a_form_decoder(data: dict[str, str]) -> None:
    encoded = form_encode(data)
    assert encoded.isascii()
    assert parse_qsl(encoded.decode("ascii"), keep_blank_values=True) == list(data.items())


def test_an_sms_body_with_reserved_characters_keeps_every_one() -> None:
    body = "Hochwasser & Sturm: 100% sicher? a+b=c #1 ; Bestätigen: https://x.example/a/tok.sig?x=1"
    data = {"To": "+15550001234", "From": "+15005550006", "Body": body}
    encoded = form_encode(data).decode("ascii")
    assert dict(parse_qsl(encoded)) == data
    assert "%2B1555" in encoded  # a plus sign in a number must not turn into a space
    assert parse_qsl(encoded) == parse_qsl(urlencode(data))


def test_values_yarl_refuses_fall_back_to_the_standard_library() -> None:
    data: dict[str, object] = {"Flag": True, "Body": "x y"}
    assert form_encode(data) == urlencode(data).encode("ascii")
