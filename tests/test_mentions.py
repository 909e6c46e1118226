"""@mention parsing: pure functions, no database."""

from atlas.collaboration.mentions import build_directory, mentioned, short_handle, split_mentions

DIRECTORY = build_directory(
    [
        (1, "maria.lopez@bank.test"),
        (2, "Tom@Bank.test"),
        (3, "sam@bank.test"),
        (4, "sam@agency.test"),
    ]
)


def test_short_handle_is_the_lowercased_part_before_the_at():
    assert short_handle("Maria.Lopez@Bank.test") == "maria.lopez"


def test_a_handle_names_its_member_in_any_case():
    assert mentioned("Thanks @maria.lopez and @TOM!", DIRECTORY) == [1, 2]


def test_each_member_is_mentioned_once_in_order_of_first_mention():
    assert mentioned("@tom, @maria.lopez, then @tom again", DIRECTORY) == [2, 1]


def test_a_sentence_ending_after_a_handle_does_not_swallow_the_full_stop():
    assert mentioned("Ask @maria.lopez.", DIRECTORY) == [1]
    assert mentioned("(cc @tom)", DIRECTORY) == [2]


def test_an_email_address_in_the_text_is_not_a_mention():
    assert mentioned("Write to tom@bank.test or support@tom", DIRECTORY) == []


def test_unknown_handles_are_ignored():
    assert mentioned("@nobody and @", DIRECTORY) == []


def test_a_shared_short_handle_names_nobody_and_the_whole_address_is_needed():
    assert DIRECTORY.handle_of[3] == "sam@bank.test"
    assert DIRECTORY.handle_of[4] == "sam@agency.test"
    assert mentioned("@sam", DIRECTORY) == []
    assert mentioned("@sam@agency.test please", DIRECTORY) == [4]


def test_a_whole_address_also_works_for_a_unique_handle():
    assert DIRECTORY.handle_of[1] == "maria.lopez"
    assert mentioned("@maria.lopez@bank.test", DIRECTORY) == [1]


def test_split_mentions_keeps_the_text_and_marks_the_mentions():
    body = "Hi @maria.lopez, see @nobody and @tom."
    pieces = split_mentions(body, DIRECTORY)
    assert "".join(text for text, _ in pieces) == body
    assert [(text, key) for text, key in pieces if key is not None] == [("@maria.lopez", 1), ("@tom", 2)]


def test_a_short_handle_followed_by_a_non_member_domain_is_still_the_short_handle():
    assert split_mentions("@tom@home.test", DIRECTORY)[0] == ("@tom", 2)
