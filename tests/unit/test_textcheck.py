"""The one check of invisible control characters shared by the forms, the API schemas and the
candidate import."""

import pytest

from recruit.core.textcheck import BIDI_CONTROLS, has_control_chars

REFUSED = [
    *BIDI_CONTROLS,
    *(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"),
    "\x7f",
    "\x85",
    "\x9f",
    "\ud800",  # a lone surrogate: JSON can carry one, no database can store it
]


def test_the_listed_bidirectional_controls_are_all_there():
    expected = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
    assert {ord(c) for c in BIDI_CONTROLS} == expected


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_every_invisible_control_is_refused_on_one_line_and_on_several(char):
    assert has_control_chars(f"Ana{char}lia")
    assert has_control_chars(f"Ana{char}lia", multiline=True)


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_tabs_and_line_breaks_only_in_a_multi_line_text(char):
    assert has_control_chars(f"a{char}b")
    assert not has_control_chars(f"a{char}b", multiline=True)


@pytest.mark.parametrize(
    "text",
    [
        "Zoé Roux-Müller",
        "O'Brien",
        "Łukasz Żółć",
        "李小龙",
        "محمد",
        "שרה",
        "👩‍💻 Ana",
        "a\u200db",
        "",
    ],
)
def test_names_of_every_script_pass(text):
    assert not has_control_chars(text)
