"""Where the families come from: the built-in ones (jaster, MT-Bench), those installed packages declare under the
entry point group `nejumi.families` (each a callable returning a family; found in a pytest run and by
`python -m nejumi_plugin report|compare` alike), and, in a pytest run, those a `conftest.py` returns from its
`pytest_nejumi_families` hook."""

from __future__ import annotations

from importlib.metadata import entry_points

from .family import Family

ENTRY_POINTS = "nejumi.families"


def builtin_families() -> list[Family]:
    """Fresh jaster and MT-Bench families (imported here, when a run needs them: loading the plugin imports none)."""
    from .tasks.jaster.family import JasterFamily
    from .tasks.mtbench.family import MtbenchFamily

    return [JasterFamily(), MtbenchFamily()]


def installed_families() -> list[Family]:
    """The built-in families, then every family an installed package declares."""
    return [*builtin_families(), *(point.load()() for point in entry_points(group=ENTRY_POINTS))]
