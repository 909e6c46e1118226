"""Failed-login throttling.

Every failed log-in is recorded in LoginFailure (by lower-cased username and client address) and kept
for an hour. A log-in attempt is refused before the password is even checked, so a right guess does not
get through either, when the account or the address has had too many failures in the last hour
(LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR, LOGIN_FAILURES_PER_ADDRESS_PER_HOUR). Refusals are logged to
`atlas.security`."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from atlas.models import LoginFailure

security_log = logging.getLogger("atlas.security")

WINDOW = timedelta(hours=1)

ACCOUNT_THROTTLED = (
    "Too many failed log-in attempts for this account. Try again later or reset your password."
)
ADDRESS_THROTTLED = "Too many failed log-in attempts from your network address. Try again later."


def normalise_username(username: str) -> str:
    return username.strip().lower()[:254]


def login_refusal(*, username: str, address: str | None) -> str | None:
    """Why a log-in attempt must be refused right now, or None when it may go ahead."""
    since = timezone.now() - WINDOW
    recent = LoginFailure.objects.filter(created_at__gte=since)
    username = normalise_username(username)
    if recent.filter(username=username).count() >= settings.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR:
        security_log.warning("login throttled: username=%r address=%s reason=account", username, address)
        return ACCOUNT_THROTTLED
    if address and recent.filter(ip_address=address).count() >= settings.LOGIN_FAILURES_PER_ADDRESS_PER_HOUR:
        security_log.warning("login throttled: username=%r address=%s reason=address", username, address)
        return ADDRESS_THROTTLED
    return None


def login_failure_record(*, username: str, address: str | None) -> LoginFailure:
    """Remember one failed log-in, and forget the ones that no longer count."""
    LoginFailure.objects.filter(created_at__lt=timezone.now() - WINDOW).delete()
    return LoginFailure.objects.create(username=normalise_username(username), ip_address=address or None)
