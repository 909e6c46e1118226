from argparse import RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand, CommandError, CommandParser

from atlas.demo import content
from atlas.demo.build import SeedResult, demo_seed
from atlas.demo.scale import WorkspaceExists, scale_seed

HELP = """\
Seed demo content.

Without options: create the hand-written demo workspace "Northbank" (/w/northbank/) with its four
demo users (owner, admin, editor, viewer; password "journey-atlas-demo"). If the workspace already
exists it is left untouched and reported, so running the command twice never duplicates anything;
--reset deletes the workspace with all its content and builds it again (the users are kept).

With --scale N --workspace SLUG: build a synthetic workspace for load tests with N opportunities and
proportionate content (journeys, steps, insights, scores, KPIs, an OKR cycle), owned by
scale-owner@SLUG.example (same password). Only bulk inserts (COPY on PostgreSQL). Deterministic for a given N and --seed. If the workspace exists the command
refuses, unless --reset, which deletes and rebuilds it.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs["formatter_class"] = RawDescriptionHelpFormatter  # keep the paragraphs of HELP
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Delete the workspace with all its content and rebuild it."
        )
        parser.add_argument(
            "--scale", type=int, metavar="N", help="Build a synthetic workspace with N opportunities."
        )
        parser.add_argument(
            "--workspace", metavar="SLUG", help="Slug of the synthetic workspace (with --scale)."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed of the synthetic workspace (default 1)."
        )

    def handle(self, *args, reset: bool, scale: int | None, workspace: str | None, seed: int, **options):
        if scale is None:
            if workspace:
                raise CommandError(
                    "--workspace only applies with --scale; the demo workspace is 'northbank'."
                )
            self._demo(reset=reset)
            return
        if scale < 1:
            raise CommandError("--scale must be a positive number of opportunities.")
        if not workspace:
            raise CommandError("--scale needs --workspace SLUG.")
        try:
            result = scale_seed(slug=workspace, n=scale, seed=seed, reset=reset)
        except WorkspaceExists as exc:
            raise CommandError(str(exc)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f'Built synthetic workspace "{result.workspace.name}" (/w/{result.workspace.slug}/) '
                f"in {result.seconds:.1f} s:"
            )
        )
        self._counts(result)
        self.stdout.write(f"Login: scale-owner@{workspace}.example / {content.DEMO_PASSWORD} (owner)")

    def _demo(self, *, reset: bool) -> None:
        result = demo_seed(reset=reset)
        slug = result.workspace.slug
        if result.created:
            verb = "Rebuilt" if reset else "Created"
            self.stdout.write(
                self.style.SUCCESS(
                    f'{verb} demo workspace "{result.workspace.name}" (/w/{slug}/) in {result.seconds:.1f} s:'
                )
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f'Demo workspace "{result.workspace.name}" (/w/{slug}/) already exists; nothing changed '
                    "(use --reset to rebuild it):"
                )
            )
        self._counts(result)
        owner_email = content.USERS[0][1]
        self.stdout.write(
            f"Demo login: {owner_email} / {content.DEMO_PASSWORD} (owner); "
            "also admin@, editor@, viewer@northbank.example"
        )

    def _counts(self, result: SeedResult) -> None:
        n = result.counts
        lines = (
            f"{n['lifecycles']} lifecycle, {n['stages']} stages, {n['macro journeys']} macro journeys, "
            f"{n['journeys']} journeys ({n['to-be journeys']} to-be), {n['phases']} phases, {n['steps']} steps, "
            f"{n['touchpoints']} touchpoints",
            f"{n['personas']} personas, {n['persona emotions']} persona emotions, {n['tags']} tags, "
            f"{n['members']} members",
            f"{n['insights']} insights, {n['opportunities']} opportunities, "
            f"{n['criterion values']} criterion values, {n['solutions']} solutions",
            f"{n['OKR cycles']} OKR cycles, {n['objectives']} objectives, {n['key results']} key results, "
            f"{n['check-ins']} check-ins",
            f"{n['KPIs']} KPIs, {n['data points']} data points",
        )
        for line in lines:
            self.stdout.write(f"  {line}")
