from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from atlas import models


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class ScopedAdmin(admin.ModelAdmin):
    """Admin for workspace-scoped rows: filter by workspace, foreign keys as raw ids (lists can be huge)."""

    list_filter = ["workspace"]
    list_select_related = ["workspace"]
    list_per_page = 50
    show_full_result_count = False

    def get_list_display(self, request):
        return ["__str__", "workspace"]

    def get_raw_id_fields(self, request):
        return [
            f.name
            for f in self.model._meta.get_fields()
            if (f.many_to_one or f.many_to_many) and not f.auto_created
        ]


@admin.register(models.Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["workspace", "role"]
    list_select_related = ["user", "workspace"]

    def get_list_display(self, request):
        return self.list_display


@admin.register(models.ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    list_display = [
        "name",
        "token_prefix",
        "membership",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["token_prefix", "last_used_at"]

    def get_list_display(self, request):
        return self.list_display


@admin.register(models.Activity)
class ActivityAdmin(ScopedAdmin):
    list_display = ["created_at", "workspace", "actor", "verb", "target_type", "target_label"]
    list_filter = ["workspace", "verb", "target_type"]

    def get_list_display(self, request):
        return self.list_display


for model in [
    models.Invitation,
    models.Tag,
    models.Comment,
    models.MaturityScan,
    models.MaturityAnswer,
    models.MaturityResult,
]:
    admin.site.register(model, ScopedAdmin)

admin.site.register(models.LoginFailure, list_display=["username", "ip_address", "created_at"])
