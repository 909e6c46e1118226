from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_workspace_guards(sender, using="default", **kwargs):
    from atlas.db_guards import install_guards

    install_guards(using=using)


class AtlasConfig(AppConfig):
    name = "atlas"
    verbose_name = "Journey Atlas workspace"

    def ready(self) -> None:
        # post_migrate is sent after the whole migrate run, once per app: listen for ours only.
        post_migrate.connect(_install_workspace_guards, sender=self, dispatch_uid="atlas-workspace-guards")
        from atlas import signals  # noqa: F401
