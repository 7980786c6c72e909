"""Cycle configuration files: parse and validate YAML into frozen dataclasses.

Validation collects every problem in the file before failing; each problem names the file, the line, the field as
a dotted path (``schedule.sample.primary[0].sessions[1].start``) and the reason in Chinese. The format is
documented in ``docs/cycles.md``.

- :mod:`.types` — the frozen dataclasses of a parsed configuration (:class:`CycleConfig` and its parts);
- :mod:`.vocabulary` — the allowed values (kinds, respondents, delivery modes, participation types, levels);
- :mod:`.yamlnodes` — composing YAML into nodes that keep their line numbers, and typed reads of single nodes;
- :mod:`.validate` — the validator that walks the document, reports every problem and builds the configuration;
- :mod:`.parse` — :func:`parse_file` / :func:`parse_text`, the entry points;
- :mod:`.schedule` — :func:`entries_for`, a configuration's schedule as the entries a school sees.
"""

from naeq.cycles.config.parse import parse_file, parse_text
from naeq.cycles.config.schedule import entries_for
from naeq.cycles.config.types import CycleConfig, Day, Instrument, LocalTimeRegion, Participation, Session, Subject

__all__ = [
    "CycleConfig",
    "Day",
    "Instrument",
    "LocalTimeRegion",
    "Participation",
    "Session",
    "Subject",
    "entries_for",
    "parse_file",
    "parse_text",
]
