"""How comments and activity read on screen: comment bodies with their mentions highlighted, and
activity records as sentences with compact changes, grouped by day."""

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from django.apps import apps
from django.utils import timezone
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe

from atlas.collaboration.mentions import split_mentions
from atlas.collaboration.selectors import Members
from atlas.db_guards import PROJECT_APPS
from atlas.models import Activity, Membership

VALUE_LENGTH = 80
CHANGES_SHOWN = 4


def body_html(body: str, members: Members, me: Membership | None = None) -> SafeString:
    """The body escaped, paragraphs and line breaks kept, each mention of a member highlighted (and a
    mention of `me` more strongly)."""
    parts = []
    for text, key in split_mentions(body, members.directory):
        if key is None:
            parts.append(escape(text))
            continue
        member = members.by_id[key]
        css = "mention mention-me" if me is not None and member.pk == me.pk else "mention"
        parts.append(format_html('<span class="{}" title="{}">{}</span>', css, member.display_name, text))
    return mark_safe(linebreaks("".join(parts)))


def initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").replace(".", " ").split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def person_name(user) -> str:
    if user is None:
        return "Someone"
    return user.get_full_name() or user.email


# --- activity ------------------------------------------------------------------------------------------

VERBS = {
    "created": "created",
    "updated": "updated",
    "deleted": "deleted",
    "archived": "archived",
    "restored": "restored",
    "commented": "commented on",
    "comment_edited": "edited a comment on",
    "comment_deleted": "deleted a comment on",
    "scored": "scored",
    "linked": "linked",
    "unlinked": "unlinked",
    "role_changed": "changed the role of",
    "removed": "removed",
    "left": "left as",
    "joined": "joined as",
    "invited": "invited",
    "revoked": "revoked",
    "moved": "moved",
    "renamed": "renamed",
    "pinned": "pinned",
    "unpinned": "unpinned",
    "tagged": "tagged",
    "imported": "imported",
    "version_saved": "saved a version of",
    "version_restored": "restored a version of",
}

TYPE_NAMES = {"membership": "member", "apitoken": "API token", "kpi": "KPI", "macrojourney": "macro journey"}


@cache
def _verbose_names() -> dict[str, str]:
    return {
        model._meta.model_name: str(model._meta.verbose_name)
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
    }


def type_name(target_type: str) -> str:
    return TYPE_NAMES.get(target_type) or _verbose_names().get(target_type, target_type.replace("_", " "))


def verb_phrase(verb: str) -> str:
    return VERBS.get(verb, verb.replace("_", " "))


@dataclass(frozen=True)
class Change:
    field: str
    before: str = ""
    after: str = ""
    value: str = ""

    @property
    def is_transition(self) -> bool:
        return bool(self.before or self.after) and not self.value


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return " · ".join(f"{key.replace('_', ' ')}: {_text(item)}" for key, item in value.items()) or "—"
    text = " ".join(str(value).split())
    return text if len(text) <= VALUE_LENGTH else text[: VALUE_LENGTH - 1] + "…"


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


# Keys writers record with a row's id, for the history's own use: a bare number means nothing to a
# reader ("journey: 17", "phase: 46 → 45"), so they are not shown. The target's name already is.
ID_KEYS = frozenset(
    {
        "journey",
        "step",
        "phase",
        "stage",
        "lifecycle",
        "insight",
        "from_insight",
        "copied_from",
        "tag",
        "persona",
    }
)


def _is_id_reference(key: str, value) -> bool:
    values = value if isinstance(value, list | tuple) else [value]
    return key in ID_KEYS and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values
    )


def _one_based(value):
    """Positions are stored from 0; people count places from 1."""
    if isinstance(value, list | tuple):
        return [_one_based(v) for v in value]
    return value + 1 if isinstance(value, int) and not isinstance(value, bool) else value


def changes_of(changes) -> list[Change]:
    """One Change per changed field, whichever shape the writer used: {"from", "to"}, [old, new], or
    the new value alone. Row ids are left out and positions read as places counted from 1."""
    if not isinstance(changes, dict):
        return [Change(field="details", value=_text(json.dumps(changes)))] if changes else []
    lines = []
    for key, value in changes.items():
        if _is_id_reference(str(key), value):
            continue
        if key == "position":
            key = "place"
            value = (
                {"from": _one_based(value["from"]), "to": _one_based(value["to"])}
                if isinstance(value, dict) and set(value) == {"from", "to"}
                else _one_based(value)
            )
        name = str(key).replace("_", " ")
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            lines.append(Change(field=name, before=_text(value["from"]), after=_text(value["to"])))
        elif isinstance(value, list | tuple) and len(value) == 2 and all(_is_scalar(v) for v in value):
            lines.append(Change(field=name, before=_text(value[0]), after=_text(value[1])))
        else:
            lines.append(Change(field=name, value=_text(value)))
    return lines


@dataclass
class FeedEntry:
    activity: Activity
    actor: str
    initials: str
    verb: str
    type_name: str
    label: str
    url: str | None
    quote: str = ""
    changes: list[Change] = field(default_factory=list)

    @property
    def day(self) -> date:
        return timezone.localdate(self.activity.created_at)

    @property
    def shown_changes(self) -> list[Change]:
        return self.changes[:CHANGES_SHOWN]

    @property
    def more_changes(self) -> list[Change]:
        return self.changes[CHANGES_SHOWN:]


def _label(activity: Activity) -> str:
    if activity.target_type == "membership":
        # str(Membership) is "<email> (<role>) in <workspace id>": the person is what matters here.
        return activity.target_label.split(" (", 1)[0]
    return activity.target_label


def feed_entry(activity: Activity, url: str | None) -> FeedEntry:
    changes = dict(activity.changes) if isinstance(activity.changes, dict) else activity.changes
    quote = ""
    if activity.verb == "commented" and isinstance(changes, dict) and isinstance(changes.get("comment"), str):
        quote = changes.pop("comment")
    name = person_name(activity.actor)
    return FeedEntry(
        activity=activity,
        actor=name,
        initials=initials(name) if activity.actor else "·",
        verb=verb_phrase(activity.verb),
        type_name=type_name(activity.target_type),
        label=_label(activity),
        url=None if activity.verb == "deleted" else url,
        quote=quote,
        changes=changes_of(changes),
    )


def day_label(day: date, today: date | None = None) -> str:
    today = today or timezone.localdate()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return day.strftime("%A %-d %B")
    return day.strftime("%A %-d %B %Y")


@dataclass
class FeedDay:
    day: date
    label: str
    entries: list[FeedEntry]


def group_by_day(entries: list[FeedEntry]) -> list[FeedDay]:
    days: list[FeedDay] = []
    today = timezone.localdate()
    for entry in entries:
        if not days or days[-1].day != entry.day:
            days.append(FeedDay(day=entry.day, label=day_label(entry.day, today), entries=[]))
        days[-1].entries.append(entry)
    return days
