"""A viewset mixin for resources whose writes can move priority scores (insights, steps,
opportunities): each create, update and delete asks for a recompute once it has committed."""


class MovesScoresMixin:
    def scores_may_have_moved(self) -> None:
        from opportunities.services import priorities_request_recompute

        priorities_request_recompute(workspace_id=self.workspace.pk)

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self.scores_may_have_moved()

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self.scores_may_have_moved()

    def perform_destroy(self, instance):
        super().perform_destroy(instance)
        self.scores_may_have_moved()
