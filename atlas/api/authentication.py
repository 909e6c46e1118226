import logging

from django.utils import timezone
from rest_framework import authentication, exceptions

from atlas.models import ApiToken, hash_token

security_log = logging.getLogger("atlas.security")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` with a personal API token.

    The token belongs to one membership, so it acts in one workspace only: `request.auth` is the
    ApiToken, and the scoping mixin refuses any other workspace with 404."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = (
            ApiToken.objects.active()
            .select_related("membership__user", "membership__workspace")
            .filter(token_hash=hash_token(raw))
            .first()
        )
        if token is None or not token.membership.user.is_active:
            security_log.warning(
                "api token refused: prefix=%s address=%s", raw[:10], request.META.get("REMOTE_ADDR")
            )
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        # Write last_used at most once a minute: a hot API client should not write on every request.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.membership.user, token

    def authenticate_header(self, request):
        return self.keyword
