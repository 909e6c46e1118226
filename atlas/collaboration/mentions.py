"""@mentions in comment bodies: pure parsing, no database.

A member is mentioned by a handle: the part of their e-mail address before the "@", lower-cased
(`@maria.lopez` for maria.lopez@bank.test). Names are not unique and contain spaces ("@Maria López"
cannot tell where the name ends), so they are not handles. When two members share the part before
the "@" (maria@bank.test and maria@agency.test), that short handle names nobody and both are
mentioned by their whole address instead (`@maria@agency.test`); a whole address always works."""

import re
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

# "@" not preceded by a word character, a dot or another "@" (so "bob@bank.test" is an address,
# not a mention), then a handle that does not end in punctuation ("@maria." at the end of a sentence
# mentions "maria"), optionally followed by the domain of a whole address.
MENTION_RE = re.compile(
    r"(?<![\w@.+-])@"
    r"(?P<handle>[a-z0-9](?:[a-z0-9._%+-]*[a-z0-9_%+-])?(?:@[a-z0-9-]+(?:\.[a-z0-9-]+)+)?)",
    re.IGNORECASE,
)


def short_handle(email: str) -> str:
    """The part of the address before the "@", lower-cased."""
    return email.rsplit("@", 1)[0].lower()


@dataclass(frozen=True)
class Directory:
    """Who can be mentioned in one workspace: handle → member key, and each member's handle."""

    by_handle: dict[str, Hashable] = field(default_factory=dict)
    handle_of: dict[Hashable, str] = field(default_factory=dict)

    def resolve(self, handle: str) -> Hashable | None:
        return self.by_handle.get(handle.lower())


def build_directory(members: Iterable[tuple[Hashable, str]]) -> Directory:
    """A directory from (key, e-mail address) pairs; the key is whatever identifies a member (an id)."""
    members = [(key, email.lower()) for key, email in members]
    taken = Counter(short_handle(email) for _, email in members)
    by_handle: dict[str, Hashable] = {}
    handle_of: dict[Hashable, str] = {}
    for key, email in members:
        short = short_handle(email)
        by_handle[email] = key
        if taken[short] == 1:
            by_handle[short] = key
            handle_of[key] = short
        else:
            handle_of[key] = email
    return Directory(by_handle=by_handle, handle_of=handle_of)


def mentioned(body: str, directory: Directory) -> list[Hashable]:
    """The members a body mentions, each once, in order of first mention. Unknown handles are ignored."""
    keys: dict[Hashable, None] = {}
    for match in MENTION_RE.finditer(body):
        key = _resolve_match(match, directory)
        if key is not None:
            keys.setdefault(key)
    return list(keys)


def split_mentions(body: str, directory: Directory) -> list[tuple[str, Hashable | None]]:
    """The body as consecutive pieces: (text, None) for plain text, ("@handle", key) for a mention of a
    member. Joining the texts gives the body back unchanged."""
    pieces: list[tuple[str, Hashable | None]] = []
    position = 0
    for match in MENTION_RE.finditer(body):
        key = _resolve_match(match, directory)
        if key is None:
            continue
        start, end = match.start(), match.start() + 1 + len(_resolved_handle(match, directory))
        if start > position:
            pieces.append((body[position:start], None))
        pieces.append((body[start:end], key))
        position = end
    if position < len(body):
        pieces.append((body[position:], None))
    return pieces


def _resolved_handle(match: re.Match, directory: Directory) -> str:
    """The text of the handle that names a member: the whole address, or only its short handle when
    the "domain" part is not an address of a member ("@maria@home" is maria, then "@home")."""
    handle = match.group("handle")
    if directory.resolve(handle) is not None:
        return handle
    return handle.split("@", 1)[0]


def _resolve_match(match: re.Match, directory: Directory) -> Hashable | None:
    return directory.resolve(_resolved_handle(match, directory))
