"""Channel numbers: parsing, canonical form and numeric order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import InvalidInput

numbers = st.builds(
    ChannelNumber,
    st.integers(min_value=1, max_value=99999),
    st.none() | st.integers(min_value=0, max_value=999),
)


@given(numbers)
def test_canonical_text_parses_back_to_the_same_number(number: ChannelNumber) -> None:
    assert ChannelNumber.parse(str(number)) == number


@given(numbers, numbers)
def test_order_is_numeric_not_lexical(a: ChannelNumber, b: ChannelNumber) -> None:
    def key(n: ChannelNumber) -> tuple[int, int]:
        return (n.major, -1 if n.minor is None else n.minor)

    assert (a < b) == (key(a) < key(b))


def test_examples_sort_like_a_tv_guide() -> None:
    texts = ["10", "5.1", "2", "5", "5.10", "5.2"]
    ordered = sorted(ChannelNumber.parse(t) for t in texts)
    assert [str(n) for n in ordered] == ["2", "5", "5.1", "5.2", "5.10", "10"]


def test_leading_zeros_are_dropped() -> None:
    assert str(ChannelNumber.parse("007.01")) == "7.1"


@pytest.mark.parametrize("text", ["", "0", "abc", "5.", ".5", "5.1.2", "-3", "123456", "5,1", "٣"])
def test_malformed_numbers_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"such as '5' or '5\.1'"):
        ChannelNumber.parse(text)


@given(st.text(max_size=20))
def test_arbitrary_text_parses_or_raises_invalid_input(text: str) -> None:
    try:
        parsed = ChannelNumber.parse(text)
    except InvalidInput as err:
        message = err.message
        parsed = None
    if parsed is None:
        assert repr(text) in message
    else:
        assert ChannelNumber.parse(str(parsed)) == parsed
