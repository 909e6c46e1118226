"""Sign-up, log-in and log-out, and the password pages (Django's auth views with our forms and
templates)."""

import logging
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from atlas.accounts.forms import LoginForm, SignupForm
from atlas.models import Invitation
from atlas.services import user_signup
from atlas.signals import client_address

security_log = logging.getLogger("atlas.security")


def safe_next(request: HttpRequest) -> str:
    """The `next` URL of the request if it stays on this site, else ""."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


def invitation_from_next(next_url: str) -> Invitation | None:
    """The usable invitation a log-in or sign-up will come back to, to say so on the page."""
    if not next_url:
        return None
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return None
    if match.view_name != "workspaces:invitation":
        return None
    invitation = Invitation.objects.select_related("workspace").filter(token=match.kwargs["token"]).first()
    return invitation if invitation is not None and invitation.is_usable else None


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["invitation"] = invitation_from_next(context.get("next", ""))
        return context


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have logged out.")
        return response


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    """A new account and, unless the person is joining by invitation, a workspace they own."""
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "home")
    invitation = invitation_from_next(next_url)
    initial = {"email": invitation.email} if invitation is not None and invitation.email else None
    form = SignupForm(request.POST or None, initial=initial, workspace_optional=invitation is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user, workspace = user_signup(
            email=data["email"],
            full_name=data["full_name"],
            password=data["password1"],
            workspace_name=data["workspace_name"],
        )
        login(request, user)
        security_log.info("signup: user=%s address=%s", user.pk, client_address(request))
        if invitation is not None or workspace is None:
            return redirect(next_url or "home")
        messages.success(request, f"Welcome to Journey Atlas. {workspace.name} is ready.")
        return redirect("journeys:atlas", workspace.slug)
    return render(request, "accounts/signup.html", {"form": form, "next": next_url, "invitation": invitation})


class PasswordResetView(auth_views.PasswordResetView):
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        # Logged without saying whether the address has an account, like the page itself.
        security_log.info("password reset requested: address=%s", client_address(self.request))
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        security_log.info("password reset: user=%s address=%s", form.user.pk, client_address(self.request))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        security_log.info("password changed: user=%s address=%s", form.user.pk, client_address(self.request))
        return response
