"""Tenant isolation matrix.

Enumerates every URL pattern of the project, fills its parameters with objects of workspace B, requests
it as the owner of workspace A with every HTTP method, and asserts 404 or 405 and that nothing of B
appears in the body. A parameter the matrix cannot fill fails the test, so every new URL is covered
(or consciously added here)."""

from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from atlas.models import ApiToken, Membership
from journeys.models import Journey, JourneyVersion, LifecycleStage, MacroJourney
from tests.world import World, build_world

MARKER = "ZZSECRETB"
METHODS = ["get", "post", "put", "patch", "delete", "options"]

# Parameters that name something inside the URL's workspace: a URL with one of them is tenant-scoped
# and must answer 404 (or 405) to a member of another workspace.
TENANT_PARAMS = {"slug", "workspace_slug", "pk", "journey_id", "object_id"}

# URL names whose parameter is itself the credential: whoever holds the link may use it by design.
# They are filled with values that are not valid credentials, and must not reveal B either.
CAPABILITY_URLS = {
    "accounts:password_reset_confirm": "the emailed reset link is the credential",
    "workspaces:invitation": "an invitation link is the credential for joining",
}


# URL parameter stems that name a model differently from its class name.
MODEL_ALIASES = {"token": ApiToken, "version": JourneyVersion, "stage": LifecycleStage, "macro": MacroJourney}


@dataclass
class Route:
    name: str
    params: list[str]
    callback: object
    route: str


def _pattern_params(pattern) -> list[str]:
    regex = pattern.regex
    return list(regex.groupindex)


def iter_routes(resolver=None, namespace: str = "", prefix: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = (
                f"{namespace}:{entry.namespace}"
                if entry.namespace and namespace
                else (entry.namespace or namespace)
            )
            for route in iter_routes(entry, ns, prefix + str(entry.pattern)):
                route.params = _pattern_params(entry.pattern) + route.params
                yield route
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield Route(name, _pattern_params(entry.pattern), entry.callback, prefix + str(entry.pattern))


def model_of(callback):
    cls = getattr(callback, "cls", None)  # DRF viewsets and API views
    if cls is not None and getattr(cls, "queryset", None) is not None:
        return cls.queryset.model
    model_admin = getattr(callback, "model_admin", None)
    if model_admin is not None:
        return model_admin.model
    view_class = getattr(callback, "view_class", None)
    if view_class is not None and getattr(view_class, "model", None) is not None:
        return view_class.model
    return None


def _model_named(name: str, world: World):
    """`key_result` → KeyResult, if the world has such a model."""
    if name in MODEL_ALIASES:
        return MODEL_ALIASES[name]
    wanted = name.replace("_", "")
    return next((model for model in world.objects if model.__name__.lower() == wanted), None)


def is_tenant_scoped(route: Route, world: World) -> bool:
    return any(
        param in TENANT_PARAMS or (param.endswith("_id") and _model_named(param[:-3], world) is not None)
        for param in route.params
    )


def fill(route: Route, world: World) -> dict[str, str]:
    kwargs = {}
    for param in route.params:
        if param in ("slug", "workspace_slug"):
            kwargs[param] = world.workspace.slug
        elif param == "journey_id" or (param == "object_id" and route.name == "admin:view_on_site"):
            kwargs[param] = world[Journey].pk
        elif (
            param == "object_id"
            and route.name.startswith("admin:")
            and model_of(route.callback) not in world.objects
        ):
            kwargs[param] = (
                1  # not workspace data (auth groups, login failures): the admin needs is_staff anyway
            )
        elif param in ("pk", "object_id"):
            model = model_of(route.callback)
            if model is None or model not in world.objects:
                pytest.fail(
                    f"Isolation matrix: cannot tell which object `{param}` names in {route.name} ({route.route})"
                )
            kwargs[param] = world[model].pk
        elif param.endswith("_id") and _model_named(param[:-3], world) is not None:
            kwargs[param] = world[_model_named(param[:-3], world)].pk
        elif param == "id" and route.name == "admin:auth_user_password_change":
            kwargs[param] = world[Membership].user_id
        elif param == "format":
            kwargs[param] = "json"
        elif param == "app_label":
            kwargs[param] = "journeys"
        elif param == "content_type_id":
            kwargs[param] = ContentType.objects.get_for_model(Journey).pk
        elif param == "uidb64":
            kwargs[param] = urlsafe_base64_encode(force_bytes(world[Membership].user_id))
        elif param == "token" and route.name in CAPABILITY_URLS:
            kwargs[param] = "not-a-valid-token"
        else:
            pytest.fail(
                f"Isolation matrix: no filler for parameter `{param}` of {route.name or route.route}. "
                "Teach tests/test_isolation_matrix.py how to fill it with an object of workspace B."
            )
    return kwargs


@pytest.fixture
def world_b(other_workspace, outsider) -> World:
    other_workspace.name = f"{MARKER} Rival Bank"
    other_workspace.save()
    return build_world(other_workspace, outsider, MARKER)


def test_every_url_refuses_a_member_of_another_workspace(client, owner, world_b, settings):
    settings.DEBUG = False
    client.force_login(owner.user)
    routes = list(iter_routes())
    assert len(routes) > 20
    checked_tenant = 0
    problems = []
    for route in routes:
        if not route.name:
            if route.route.startswith("admin/"):
                continue  # the admin's catch-all; the admin needs is_staff (checked below)
            problems.append(f"unnamed URL pattern {route.route!r}: name it so the matrix can reverse it")
            continue
        kwargs = fill(route, world_b)
        url = reverse(route.name, kwargs=kwargs)
        tenant_scoped = is_tenant_scoped(route, world_b)
        is_admin = route.name.startswith("admin:")
        for method in METHODS:
            client.force_login(owner.user)  # a previous request may have been the logout URL
            response = getattr(client, method)(url)
            body = b"".join(response) if response.streaming else response.content
            if MARKER.encode() in body:
                problems.append(f"{method.upper()} {url} ({route.name}) shows workspace B's data")
            if is_admin:
                if tenant_scoped and response.status_code not in (302, 404, 405):
                    problems.append(
                        f"{method.upper()} {url}: admin answered {response.status_code} to a non-staff member"
                    )
            elif tenant_scoped and response.status_code not in (404, 405):
                problems.append(
                    f"{method.upper()} {url} ({route.name}) answered {response.status_code}, expected 404/405"
                )
        checked_tenant += tenant_scoped
    assert not problems, "\n".join(problems)
    assert checked_tenant >= 5


def test_matrix_sees_the_workspace_pages_and_api(db):
    names = {route.name for route in iter_routes()}
    assert "journeys:atlas" in names
    assert "journeys:journey" in names
