from django.urls import path

from atlas.workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("workspaces/new/", views.create, name="create"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("w/<slug:slug>/settings/members/", views.members, name="members"),
    path("w/<slug:slug>/settings/members/leave/", views.leave, name="leave"),
    path("w/<slug:slug>/settings/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path(
        "w/<slug:slug>/settings/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("w/<slug:slug>/settings/invitations/", views.invitation_new, name="invitation_create"),
    path(
        "w/<slug:slug>/settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_cancel,
        name="invitation_revoke",
    ),
    path("w/<slug:slug>/settings/tokens/", views.tokens, name="tokens"),
    path("w/<slug:slug>/settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
