from datetime import date

import pytest

from proctor.domain.ids import InvalidIdNumber, check_digit, mask_id_number, parse_resident_id

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("number", ["11010519491231002X", "34052419800101001X", "41010519900307123X"])
def test_known_valid_numbers(number: str) -> None:
    first17 = number[:17]
    assert check_digit(first17) == number[17]
    parsed = parse_resident_id(number.lower(), today=TODAY)
    assert parsed.number == number and parsed.region == number[:6]


def test_parses_birth_date_and_sex() -> None:
    parsed = parse_resident_id("11010519491231002X", today=TODAY)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("41010519900307123", "18 characters"),
        ("4101051990030712345", "18 characters"),
        ("01010519900307123X", "must not start with 0"),
        ("41010519900307A236", "17 digits"),
        ("410105199002301234", "does not exist"),
        ("410105203001011234", "not plausible"),
        ("410105199003071230", "check digit is 0, GB 11643 gives X"),
    ],
)
def test_refuses_with_reason(number: str, problem: str) -> None:
    with pytest.raises(InvalidIdNumber, match=problem):
        parse_resident_id(number, today=TODAY)


def test_mask_shows_first_three_and_last_four() -> None:
    assert mask_id_number("41010519900307123X") == "410***********123X"
