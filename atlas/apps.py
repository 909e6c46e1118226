from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


def _install_workspace_guards(sender, using="default", **kwargs):
    from atlas.db_guards import install_guards

    install_guards(using=using)


def _remove_workspace_guards(sender, using="default", **kwargs):
    from atlas.db_guards import remove_guards

    remove_guards(using=using)


class AtlasConfig(AppConfig):
    name = "atlas"
    verbose_name = "Journey Atlas workspace"

    def ready(self) -> None:
        # Guards come off before migrations run and go back on after the whole run (both signals are
        # sent once per app: listen for ours only).
        pre_migrate.connect(
            _remove_workspace_guards, sender=self, dispatch_uid="atlas-remove-workspace-guards"
        )
        post_migrate.connect(_install_workspace_guards, sender=self, dispatch_uid="atlas-workspace-guards")
        from atlas import signals  # noqa: F401
