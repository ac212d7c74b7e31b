"""SORT and THREAD (RFC 5256) against the real server: messages with crafted Subject, Date, From,
To, Cc, Message-ID and References are APPENDed, and the exact `* SORT`, `* THREAD` and
`* ESEARCH` lines are checked on a raw socket. The RFC's own examples are rebuilt where they
can be: `(2)(3 6 (4 23)(44 7 96))`, `((3)(5))`, and the empty `* SORT` and `* THREAD`.
"""

import re

import pytest

from test_imap import connect, login_raw, ok

BODY_FILL = b"x" * 60 + b"\r\n"


def message(headers, body_lines=1):
    head = b"".join(f"{name}: {value}\r\n".encode() for name, value in headers)
    return head + b"\r\n" + BODY_FILL * body_lines


def fill_mailbox(server, name, messages):
    """Creates `name` holding `messages` ((headers, body lines, internal date or None)).

    A first message is appended and expunged again, so UIDs are sequence numbers + 1 and
    UID SORT/THREAD answers differ from the plain ones.
    """
    client = connect(server)
    ok(client.create(name))
    ok(client.append(name, None, None, message([("Subject", "junk")])))
    for headers, lines, internal in messages:
        ok(client.append(name, None, internal, message(headers, lines)))
    ok(client.select(name))
    ok(client.store("1", "+FLAGS", "(\\Deleted)"))
    ok(client.expunge())
    client.logout()


def session(server, mailbox):
    raw = login_raw(server)
    raw.send(f"s SELECT {mailbox}\r\n".encode())
    assert raw.until_tagged("s")[-1].startswith(b"s OK")
    return raw


def run(raw, tag, command):
    raw.send(f"{tag} {command}\r\n".encode())
    return raw.until_tagged(tag)


# Five messages whose every sort key orders them differently. Sent dates in UTC:
# 1 Jan 2 10:00, 2 Jan 1 17:00, 3 Jan 1 18:00, 4 none (INTERNALDATE Dec 31), 5 Jan 2 11:00.
SORTABLE = [
    (
        [
            ("From", "Zed <zed@example.org>"),
            ("To", "carol@example.org"),
            ("Subject", "Re: lunch"),
            ("Date", "Tue, 02 Jan 2024 10:00:00 +0000"),
        ],
        8,
        '"05-Jan-2024 12:00:00 +0000"',
    ),
    (
        [
            ("From", "amy@example.org"),
            ("To", "Bob <bob@example.org>"),
            ("Cc", "zoe@example.org"),
            ("Subject", "=?UTF-8?Q?Apple_pie?="),
            ("Date", "Mon, 01 Jan 2024 12:00:00 -0500"),
        ],
        2,
        '"04-Jan-2024 12:00:00 +0000"',
    ),
    (
        [
            ("From", '"Mike" <mike@example.org>'),
            ("To", "alice@example.test"),
            ("Cc", "bea@example.org, zed@example.org"),
            ("Subject", "[list] Fwd: banana"),
            ("Date", "Mon, 01 Jan 2024 18:00:00 +0000"),
        ],
        5,
        '"03-Jan-2024 12:00:00 +0000"',
    ),
    (
        [("From", "BOB@example.org")],
        12,
        '"31-Dec-2023 12:00:00 +0000"',
    ),
    (
        [
            ("From", "amy@example.org"),
            ("To", "dan@example.org"),
            ("Subject", "lunch (fwd)"),
            ("Date", "Tue, 02 Jan 2024 12:00:00 +0100"),
        ],
        0,
        '"06-Jan-2024 12:00:00 +0000"',
    ),
]


@pytest.fixture
def sortable(server):
    fill_mailbox(server, "Sortable", SORTABLE)
    raw = session(server, "Sortable")
    yield raw
    raw.close()


@pytest.mark.parametrize(
    "program, expected",
    [
        # Base subjects "", "APPLE PIE", "BANANA", "LUNCH" (1 and 5, by sequence number).
        ("(SUBJECT)", b"4 2 3 1 5"),
        ("(REVERSE SUBJECT)", b"1 5 3 2 4"),
        ("(SUBJECT REVERSE DATE)", b"4 2 3 5 1"),
        # The Date field in UTC; 4 has none and sorts by its INTERNALDATE.
        ("(DATE)", b"4 2 3 1 5"),
        ("(REVERSE DATE)", b"5 1 3 2 4"),
        ("(ARRIVAL)", b"4 3 2 1 5"),
        ("(SIZE)", b"5 2 3 1 4"),
        # The first address's mailbox, case-insensitively; empty first.
        ("(FROM)", b"2 5 4 3 1"),
        ("(TO)", b"4 3 2 1 5"),
        ("(CC)", b"1 4 5 3 2"),
        ("(FROM REVERSE DATE)", b"5 2 4 3 1"),
    ],
)
def test_sort_keys(sortable, program, expected):
    assert run(sortable, "a", f"SORT {program} UTF-8 ALL") == [
        b"* SORT " + expected + b"\r\n",
        b"a OK SORT completed\r\n",
    ]


def test_uid_sort_and_search_criteria(sortable):
    # UIDs are one more than sequence numbers here.
    assert run(sortable, "a", "UID SORT (DATE) UTF-8 ALL") == [
        b"* SORT 5 3 4 2 6\r\n",
        b"a OK SORT completed\r\n",
    ]
    assert run(sortable, "b", "SORT (REVERSE ARRIVAL) us-ascii FROM amy") == [
        b"* SORT 5 2\r\n",
        b"b OK SORT completed\r\n",
    ]
    # UIDs 3:5 are messages 2 to 4; without message 2, "" (4, UID 5) before "banana" (3, UID 4).
    assert run(sortable, "c", "UID SORT (SUBJECT) UTF-8 UID 3:5 NOT 2") == [
        b"* SORT 5 4\r\n",
        b"c OK SORT completed\r\n",
    ]
    # RFC 5256 §3's example A284: nothing matches.
    assert run(sortable, "d", 'SORT (SUBJECT) US-ASCII TEXT "not in mailbox"') == [
        b"* SORT\r\n",
        b"d OK SORT completed\r\n",
    ]


def test_sort_with_modseq_and_return_options(sortable):
    lines = run(sortable, "a", "SORT (DATE) UTF-8 MODSEQ 1")
    assert re.fullmatch(rb"\* SORT 4 2 3 1 5 \(MODSEQ \d+\)\r\n", lines[0]), lines
    assert lines[1:] == [b"a OK SORT completed\r\n"]
    # RFC 5267 ESORT: MIN and MAX in sort order, ALL in sort order (ascending runs as ranges).
    assert run(sortable, "b", "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL") == [
        b'* ESEARCH (TAG "b") MIN 4 MAX 5 COUNT 5 ALL 4,2:3,1,5\r\n',
        b"b OK SORT completed\r\n",
    ]
    assert run(sortable, "c", "UID SORT RETURN () (REVERSE DATE) UTF-8 ALL") == [
        b'* ESEARCH (TAG "c") UID ALL 6,2,4,3,5\r\n',
        b"c OK SORT completed\r\n",
    ]
    # SAVE keeps the set, not the order: `$` then names messages 2 and 5 in mailbox order.
    assert run(sortable, "d", "SORT RETURN (SAVE) (REVERSE DATE) UTF-8 FROM amy") == [
        b"d OK SORT completed\r\n",
    ]
    assert run(sortable, "e", "SEARCH $") == [b"* SEARCH 2 5\r\n", b"e OK SEARCH completed\r\n"]


def test_sort_errors(sortable):
    lines = run(sortable, "a", "SORT (DISPLAYFROM) UTF-8 ALL")
    assert lines == [b"a BAD DISPLAYFROM and DISPLAYTO are not supported\r\n"]
    assert run(sortable, "b", "SORT (SIZE) UTF-8 99")[-1].startswith(b"b OK")
    assert run(sortable, "c", "SORT (NAME) UTF-8 ALL")[-1].startswith(b"c BAD")
    assert run(sortable, "d", "SORT SUBJECT UTF-8 ALL")[-1].startswith(b"d BAD")
    # The session goes on.
    assert run(sortable, "e", "SORT (SIZE) UTF-8 ALL") == [
        b"* SORT 5 2 3 1 4\r\n",
        b"e OK SORT completed\r\n",
    ]


def test_unknown_charset_is_refused(sortable):
    assert run(sortable, "a", "SORT (SIZE) KOI8-R ALL") == [
        b"a NO [BADCHARSET (UTF-8 US-ASCII)] Charset not supported\r\n"
    ]


def test_thread_orderedsubject(sortable):
    # Threads by base subject, ordered by their first message's sent date; "lunch" is 1 then 5.
    assert run(sortable, "a", "THREAD ORDEREDSUBJECT UTF-8 ALL") == [
        b"* THREAD (4)(2)(3)(1 5)\r\n",
        b"a OK THREAD completed\r\n",
    ]
    assert run(sortable, "b", "UID THREAD ORDEREDSUBJECT UTF-8 ALL") == [
        b"* THREAD (5)(3)(4)(2 6)\r\n",
        b"b OK THREAD completed\r\n",
    ]
    # RFC 5256 §3's example A284.
    assert run(sortable, "c", 'THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"') == [
        b"* THREAD\r\n",
        b"c OK THREAD completed\r\n",
    ]


def dated(minute):
    return ("Date", f"Mon, 01 Jan 2024 10:{minute:02d}:00 +0000")


def test_thread_references_rfc_example(server):
    # RFC 5256 §4's `(2)(3 6 (4 23)(44 7 96))`, with filler messages at the other positions.
    thread = {
        2: ("two", []),
        3: ("three", []),
        6: ("Re: three", [3]),
        4: ("Re: three", [3, 6]),
        23: ("Re: three", [3, 6, 4]),
        44: ("Re: three", [3, 6]),
        7: ("Re: three", [3, 6, 44]),
        96: ("Re: three", [3, 6, 44, 7]),
    }
    messages = []
    for position in range(1, 97):
        subject, refs = thread.get(position, ("filler", []))
        headers = [
            ("Subject", subject),
            ("Message-ID", f"<{position}@example.org>"),
            dated(position % 60),
        ]
        if refs:
            headers.append(("References", " ".join(f"<{n}@example.org>" for n in refs)))
        messages.append((headers, 0, None))
    fill_mailbox(server, "Example", messages)
    raw = session(server, "Example")
    assert run(raw, "a", "THREAD REFERENCES UTF-8 NOT SUBJECT filler") == [
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
        b"a OK THREAD completed\r\n",
    ]
    raw.close()


def test_thread_references_dummies_and_subjects(server):
    messages = [
        # 1 and 7: the same subject, neither a reply: a dummy parent holds both.
        ([("Subject", "alpha"), ("Message-ID", "<1@x.org>"), dated(1)], 0, None),
        ([("Subject", "beta"), ("Message-ID", "<2@x.org>"), dated(2)], 0, None),
        # 3 and 5 answer a message that is not in the mailbox: RFC 5256's `((3)(5))`.
        (
            [
                ("Subject", "Re: gamma"),
                ("Message-ID", "<3@x.org>"),
                ("In-Reply-To", "<missing@x.org> (sent by someone)"),
                dated(3),
            ],
            0,
            None,
        ),
        ([("Subject", "delta"), ("Message-ID", '<"4"@x.org>'), dated(4)], 0, None),
        (
            [
                ("Subject", "Re: gamma"),
                ("Message-ID", "<5@x.org>"),
                ("References", "<missing@x.org>"),
                dated(5),
            ],
            0,
            None,
        ),
        # A reply to "delta" without references joins it by subject.
        ([("Subject", "RE: [club] delta"), ("Message-ID", "<6@x.org>"), dated(6)], 0, None),
        ([("Subject", "Alpha"), ("Message-ID", "<7@x.org>"), dated(7)], 0, None),
        # A reply by References to a quoted Message-ID, sent before it (clock skew).
        (
            [
                ("Subject", "Re: delta"),
                ("Message-ID", "<8@x.org>"),
                ("References", "<4@x.org>"),
                dated(0),
            ],
            0,
            None,
        ),
    ]
    fill_mailbox(server, "Threads", messages)
    raw = session(server, "Threads")
    assert run(raw, "a", "THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD ((1)(7))(2)((3)(5))(4 (8)(6))\r\n",
        b"a OK THREAD completed\r\n",
    ]
    assert run(raw, "b", "THREAD REFERENCES UTF-8 SUBJECT gamma") == [
        b"* THREAD ((3)(5))\r\n",
        b"b OK THREAD completed\r\n",
    ]
    assert run(raw, "c", "UID THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD ((2)(8))(3)((4)(6))(5 (9)(7))\r\n",
        b"c OK THREAD completed\r\n",
    ]
    assert run(raw, "d", "THREAD ORDEREDSUBJECT UTF-8 ALL") == [
        b"* THREAD (8 (4)(6))(1 7)(2)(3 5)\r\n",
        b"d OK THREAD completed\r\n",
    ]
    assert run(raw, "e", "THREAD REFERENCES UTF-8 UID 100") == [
        b"* THREAD\r\n",
        b"e OK THREAD completed\r\n",
    ]
    assert run(raw, "f", "THREAD FANCY UTF-8 ALL")[-1].startswith(b"f BAD")
    raw.close()


def test_capabilities_advertise_sort_and_thread(server):
    raw = login_raw(server)
    lines = run(raw, "a", "CAPABILITY")
    words = lines[0].split()
    assert b"SORT" in words and b"THREAD=ORDEREDSUBJECT" in words
    assert b"THREAD=REFERENCES" in words
    raw.close()
