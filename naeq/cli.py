"""The ``naeq`` command line. Every verb has ``--help``; exit codes: 0 ok, 1 bad input, 2 usage, 3 internal."""

from __future__ import annotations

import sys
from typing import Any

import click

from naeq.core.clitools import django_setup

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class NaeqGroup(click.Group):
    """Renders application errors as precise messages with exit code 1 instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        from naeq.core.errors import ApplicationError

        try:
            return super().invoke(ctx)
        except ApplicationError as exc:
            click.echo(f"error [{exc.code}]: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)


@click.group(cls=NaeqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="naeq")
def main() -> None:
    """naeq: run an education quality monitoring cycle end to end."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (DATABASE_URL, default an SQLite file in ./var)."""
    django_setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


def _register() -> None:
    # Verb modules import only click at module level, so `naeq --help` stays fast; Django is set up inside
    # each verb that needs it.
    from naeq.analysis.cli import analysis_group
    from naeq.custody.cli import custody
    from naeq.cycles.cli import cycle
    from naeq.delivery.cli import items
    from naeq.delivery.cli_sessions import sessions
    from naeq.estimation_cli import estimate
    from naeq.incidents.cli import incidents
    from naeq.marking.cli import marking_group
    from naeq.ops import audit, demo, serve, user
    from naeq.papercapture.cli import paper_group
    from naeq.pe.cli import pe_group
    from naeq.quality.cli import quality_group
    from naeq.rectification.cli import rectification_group
    from naeq.registry.cli import registry, roster, synth
    from naeq.reports.cli import report_group
    from naeq.sampling.cli import sample
    from naeq.scaling.cli import scaling_group
    from naeq.scaling.cli_calibrate import calibrate
    from naeq.screening_cli import screen, screen_sim
    from naeq.staffing.cli import staff
    from naeq.timeline.cli import timeline

    for verb in (demo, serve, cycle, synth, registry, roster, sample, items, sessions, staff, timeline, custody,
                 incidents, paper_group, marking_group, pe_group, scaling_group, calibrate, screen, estimate,
                 screen_sim, quality_group, analysis_group, report_group, rectification_group, user, audit):
        main.add_command(verb)


_register()

if __name__ == "__main__":
    main()
