"""Reading and checking a CSV of insights, before anything is written.

Pure: no database access. The caller passes the workspace's names (`Lookups`, built by
`insight_selectors.import_lookups`) and gets back either every row ready for `insights_import`, or every
problem of every row (all-or-nothing: one bad row and nothing is imported).

The file: UTF-8 with or without a byte order mark; comma, semicolon or tab separated (read from the
header line); a header row naming the columns in any order and case. Row numbers are counted as a
spreadsheet shows them: the header is row 1."""

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from journeys.models import Insight

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000

COLUMNS: dict[str, str] = {
    "title": "Required. Up to 200 characters.",
    "description": "The description or the customer's own words.",
    "kind": "Pain point, Gain, Need, Observation or Quote (the code, e.g. “pain”, works too). "
    "Empty: Pain point.",
    "source": "Interview, Survey, Analytics, Support ticket, Observation, Focus group or Other. "
    "Empty: Interview.",
    "source_reference": "A link or a note, e.g. the interview's recording. Up to 500 characters.",
    "status": "Hypothesis, Validated or Rejected. Empty: Hypothesis.",
    "severity": "1 (minor) to 5 (critical). Empty: 3.",
    "reach": "How many customers it concerns, 0 or more. Empty: 0.",
    "personas": "Names of existing personas, separated by ; or |.",
    "tags": "Names of existing tags, separated by ; or |. Where two tags share a name, write "
    "“Kind: name” (e.g. “Channel: Web”).",
    "journey": "With step: the name of an existing journey, to pin the insight onto its step.",
    "step": "With journey: the name of a step of that journey (several separated by ; or |).",
}

# Other ways people write the column names (compared after normalising case, spaces and dashes).
HEADER_ALIASES = {
    "description_/_quote": "description",
    "quote": "description",
    "type": "kind",
    "source_method": "source",
    "method": "source",
    "reference": "source_reference",
    "source_ref": "source_reference",
    "persona": "personas",
    "tag": "tags",
    "steps": "step",
    "journey_step": "step",
}

LIST_SEPARATORS = re.compile(r"[;|]")
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class InsightRow:
    """One insight to import, checked and with its links resolved to ids of the workspace."""

    title: str
    description: str = ""
    kind: str = Insight.Kind.PAIN
    source: str = Insight.Source.INTERVIEW
    source_reference: str = ""
    status: str = Insight.Status.HYPOTHESIS
    severity: int = 3
    reach: int = 0
    persona_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    step_ids: list[int] = field(default_factory=list)


@dataclass
class Lookups:
    """The workspace's names, keyed by `key()` of the name.

    tags: name → [(kind label, tag id)] (one name may exist once per kind);
    journeys: journey name → one {step name → [step ids]} per journey of that name."""

    personas: dict[str, int] = field(default_factory=dict)
    tags: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    tag_kinds: dict[str, str] = field(default_factory=dict)  # kind code or label (keyed) → kind label
    journeys: dict[str, list[dict[str, list[int]]]] = field(default_factory=dict)
    # The names as written in the workspace, for hints in the error messages.
    persona_names: list[str] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    journey_names: list[str] = field(default_factory=list)


@dataclass
class RowProblem:
    number: int
    title: str
    reasons: list[str]


@dataclass
class ImportCheck:
    """The outcome of reading a file: rows ready to import, or what is wrong (the file, or rows)."""

    rows: list[InsightRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    delimiter: str = ","

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.problems and bool(self.rows)

    @property
    def reason_count(self) -> int:
        return sum(len(problem.reasons) for problem in self.problems)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES[self.delimiter]


def key(text: str) -> str:
    """How names are compared: case, surrounding and repeated spaces, `_` and `-` do not matter."""
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


def _header_key(text: str) -> str:
    return "_".join(text.strip().replace("-", " ").split()).casefold()


def _choice_map(choices: Iterable[tuple[str, str]]) -> dict[str, str]:
    mapping = {}
    for value, label in choices:
        mapping[key(value)] = value
        mapping[key(label)] = value
    return mapping


KINDS = _choice_map(Insight.Kind.choices)
SOURCES = _choice_map(Insight.Source.choices)
STATUSES = _choice_map(Insight.Status.choices)


def decode(data: bytes) -> tuple[str | None, str | None]:
    """The text of the file, or an error saying why it cannot be read."""
    if len(data) > MAX_BYTES:
        return None, (
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB. "
            "Split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, (
            f"The file is not UTF-8 text (first unreadable character on line {line}). In Excel, save it "
            "with “CSV UTF-8”; in Numbers or Google Sheets, export it as CSV."
        )
    if "\x00" in text:
        return None, "The file contains binary data; upload a CSV file (a spreadsheet saved as CSV)."
    return text, None


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever the header line uses most (outside quotes)."""
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def check_csv(data: bytes, lookups: Lookups) -> ImportCheck:
    """Read and check a whole file; see the module docstring."""
    text, error = decode(data)
    if error:
        return ImportCheck(file_errors=[error])
    assert text is not None
    delimiter = sniff_delimiter(text)
    result = ImportCheck(delimiter=delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            result.file_errors.append(
                "The file is empty. Start from the template: a header row, then one row per insight."
            )
            return result
        columns, header_errors = read_header(header)
        if header_errors:
            result.file_errors.extend(header_errors)
            return result
        number = 1
        records: list[tuple[int, list[str]]] = []
        for record in reader:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            if len(records) == MAX_ROWS:
                result.file_errors.append(
                    f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at a time."
                )
                return result
            records.append((number, record))
    except csv.Error as error:
        result.file_errors.append(f"The file cannot be read as CSV near row {number + 1}: {error}.")
        return result
    if not records:
        result.file_errors.append("The file has a header but no rows of insights.")
        return result
    for number, record in records:
        row, reasons = check_record(record, columns, lookups)
        if reasons:
            result.problems.append(
                RowProblem(number=number, title=_title_of(record, columns), reasons=reasons)
            )
        elif row is not None:
            result.rows.append(row)
    if result.problems:
        result.rows = []
    return result


def read_header(header: Sequence[str]) -> tuple[list[str | None], list[str]]:
    """The column name of each position (None for an empty trailing header cell), or what is wrong."""
    columns: list[str | None] = []
    errors = []
    seen: set[str] = set()
    for cell in header:
        name = _header_key(cell)
        if not name:
            columns.append(None)
            continue
        name = HEADER_ALIASES.get(name, name)
        if name not in COLUMNS:
            errors.append(f"Unknown column “{cell.strip()}”. The columns are: {', '.join(COLUMNS)}.")
        elif name in seen:
            errors.append(f"The column “{name}” appears twice.")
        seen.add(name)
        columns.append(name)
    if not errors and "title" not in seen:
        errors.append("The header has no “title” column; every insight needs a title.")
    return columns, errors


def _title_of(record: Sequence[str], columns: Sequence[str | None]) -> str:
    for name, cell in zip(columns, record, strict=False):
        if name == "title":
            return cell.strip()
    return ""


def _split(value: str) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(value) if part.strip()]


def _choice(
    value: str, mapping: Mapping[str, str], default: str, what: str, labels: Iterable[str]
) -> tuple[str, str | None]:
    if not value:
        return default, None
    code = mapping.get(key(value))
    if code is None:
        return default, f"{what} “{value}” is not one of: {', '.join(labels)}."
    return code, None


def _whole_number(
    value: str, *, default: int, what: str, low: int, high: int | None, limit: int = 2_147_483_647
) -> tuple[int, str | None]:
    if not value:
        return default, None
    cleaned = re.sub(r"[\s_,\u00a0\u202f]", "", value)
    if re.fullmatch(r"\d+(\.0+)?", cleaned):
        number = int(cleaned.split(".")[0])
        if number >= low and (high is None or number <= high):
            if number > limit:
                return default, f"{what} is too large (got “{value}”)."
            return number, None
    expected = (
        f"a whole number from {low} to {high}" if high is not None else f"a whole number, {low} or more"
    )
    return default, f"{what} must be {expected} (got “{value}”)."


def _names_hint(names: Iterable[str]) -> str:
    names = sorted(names)
    if not names:
        return ""
    # Quoted: persona and tag names often contain commas ("Leo, the student").
    quoted = [f"“{name}”" for name in names[:8]]
    if len(names) > 8:
        return f" Existing: {', '.join(quoted)}, …"
    return f" Existing: {', '.join(quoted)}."


def check_record(
    record: Sequence[str], columns: Sequence[str | None], lookups: Lookups
) -> tuple[InsightRow | None, list[str]]:
    """One row of the file: the insight to create, or every reason it cannot be imported."""
    reasons: list[str] = []
    width = len(columns)
    while width and columns[width - 1] is None:
        width -= 1
    extra = [cell for cell in record[len(columns) :] if cell.strip()]
    if extra:
        reasons.append(
            f"The row has {len(columns) + len(extra)} values but the header has {width} columns "
            "(a separator inside a value needs quotes around the value)."
        )
    cells = {name: cell.strip() for name, cell in zip(columns, record, strict=False) if name}

    title = cells.get("title", "")
    if not title:
        reasons.append("The title is empty.")
    elif len(title) > 200:
        reasons.append(f"The title is {len(title)} characters long; at most 200.")
    reference = cells.get("source_reference", "")
    if len(reference) > 500:
        reasons.append(f"The source reference is {len(reference)} characters long; at most 500.")

    kind, error = _choice(cells.get("kind", ""), KINDS, Insight.Kind.PAIN, "Kind", Insight.Kind.labels)
    reasons += [error] if error else []
    source, error = _choice(
        cells.get("source", ""), SOURCES, Insight.Source.INTERVIEW, "Source", Insight.Source.labels
    )
    reasons += [error] if error else []
    status, error = _choice(
        cells.get("status", ""), STATUSES, Insight.Status.HYPOTHESIS, "Status", Insight.Status.labels
    )
    reasons += [error] if error else []
    severity, error = _whole_number(cells.get("severity", ""), default=3, what="Severity", low=1, high=5)
    reasons += [error] if error else []
    reach, error = _whole_number(cells.get("reach", ""), default=0, what="Reach", low=0, high=None)
    reasons += [error] if error else []

    persona_ids = []
    for name in _split(cells.get("personas", "")):
        persona_id = lookups.personas.get(key(name))
        if persona_id is None:
            reasons.append(f"There is no persona “{name}”.{_names_hint(lookups.persona_names)}")
        else:
            persona_ids.append(persona_id)

    tag_ids = []
    for name in _split(cells.get("tags", "")):
        tag_id, error = resolve_tag(name, lookups)
        if error:
            reasons.append(error)
        else:
            tag_ids.append(tag_id)

    step_ids, step_reasons = resolve_steps(cells.get("journey", ""), cells.get("step", ""), lookups)
    reasons += step_reasons

    if reasons:
        return None, reasons
    return (
        InsightRow(
            title=title,
            description=cells.get("description", ""),
            kind=kind,
            source=source,
            source_reference=reference,
            status=status,
            severity=severity,
            reach=reach,
            persona_ids=list(dict.fromkeys(persona_ids)),
            tag_ids=list(dict.fromkeys(tag_ids)),
            step_ids=list(dict.fromkeys(step_ids)),
        ),
        [],
    )


def resolve_tag(name: str, lookups: Lookups) -> tuple[int | None, str | None]:
    """A tag by its name, or by “Kind: name” where the name alone is ambiguous."""
    matches = lookups.tags.get(key(name), [])
    if len(matches) == 1:
        return matches[0][1], None
    if len(matches) > 1:
        spelled = ", ".join(f"“{kind}: {name}”" for kind, _ in matches)
        return None, f"Several tags are called “{name}”; write one of {spelled}."
    if ":" in name:
        kind_text, _, tag_name = name.partition(":")
        kind_label = lookups.tag_kinds.get(key(kind_text))
        for label, tag_id in lookups.tags.get(key(tag_name), []):
            if label == kind_label:
                return tag_id, None
    return None, f"There is no tag “{name}”.{_names_hint(lookups.tag_names)}"


def resolve_steps(journey: str, steps: str, lookups: Lookups) -> tuple[list[int], list[str]]:
    """The steps named in the journey and step columns (both or neither)."""
    step_names = _split(steps)
    if not journey and not step_names:
        return [], []
    if not journey:
        return [], ["A step is given without its journey; fill in the journey column too."]
    if not step_names:
        return [], [f"The journey “{journey}” is given without a step; fill in the step column too."]
    candidates = lookups.journeys.get(key(journey), [])
    if not candidates:
        return [], [f"There is no journey “{journey}”.{_names_hint(lookups.journey_names)}"]
    if len(candidates) > 1:
        return [], [f"{len(candidates)} journeys are called “{journey}”; rename one of them to pin by name."]
    journey_steps = candidates[0]
    ids, reasons = [], []
    for name in step_names:
        found = journey_steps.get(key(name), [])
        if len(found) == 1:
            ids.append(found[0])
        elif found:
            reasons.append(f"The journey “{journey}” has {len(found)} steps called “{name}”.")
        else:
            reasons.append(f"The journey “{journey}” has no step “{name}”.")
    return ids, reasons


def build_lookups(
    *,
    personas: Iterable[tuple[int, str]],
    tags: Iterable[tuple[int, str, str]],
    tag_kinds: Iterable[tuple[str, str]],
    journeys: Iterable[tuple[int, str]],
    steps: Iterable[tuple[int, str, int]],
) -> Lookups:
    """Lookups from plain rows: personas (id, name), tags (id, name, kind label), tag kinds (code,
    label), journeys (id, name) and steps (step id, step name, journey id)."""
    lookups = Lookups()
    for pk, name in personas:
        lookups.personas.setdefault(key(name), pk)
        lookups.persona_names.append(name)
    for pk, name, kind_label in tags:
        lookups.tags.setdefault(key(name), []).append((kind_label, pk))
        lookups.tag_names.append(name)
    lookups.tag_names = sorted(set(lookups.tag_names))
    for code, label in tag_kinds:
        lookups.tag_kinds[key(code)] = label
        lookups.tag_kinds[key(label)] = label
    by_journey: dict[int, dict[str, list[int]]] = {}
    for pk, name in journeys:
        by_journey[pk] = {}
        lookups.journeys.setdefault(key(name), []).append(by_journey[pk])
        lookups.journey_names.append(name)
    lookups.journey_names = sorted(set(lookups.journey_names))
    for step_id, step_name, journey_id in steps:
        if journey_id in by_journey:
            by_journey[journey_id].setdefault(key(step_name), []).append(step_id)
    return lookups
