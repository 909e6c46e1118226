"""Security logging of authentication events."""

import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

security_log = logging.getLogger("atlas.security")


def client_address(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR")


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs):
    security_log.warning(
        "login failed: username=%r address=%s",
        credentials.get("username", ""),
        client_address(request),
    )


@receiver(user_logged_in)
def log_logged_in(sender, request, user, **kwargs):
    security_log.info("login: user=%s address=%s", user.pk, client_address(request))


@receiver(user_logged_out)
def log_logged_out(sender, request, user, **kwargs):
    security_log.info("logout: user=%s", getattr(user, "pk", None))
