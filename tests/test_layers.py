"""The dependency rule (``docs/architecture.md``): a module imports only from its own layer or a lower one, and the
packages do not import each other in a cycle.

Every module of ``monai_spine/`` and ``transforms/`` (installed as ``monai_spine.transforms``) is parsed with
``ast``; every import counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RANKS = {
    "monai_spine": 0,  # the root package: the version only
    "monai_spine.errors": 0,
    "monai_spine.io": 1,
    "monai_spine.geometry": 1,
    "monai_spine.measures": 1,
    "monai_spine.projection": 1,
    "monai_spine.workers": 1,
    "monai_spine.bundles": 1,
    "monai_spine.transforms": 2,
    "monai_spine.networks": 2,
    "monai_spine.phantom": 3,
    "monai_spine.studies": 3,
    "monai_spine.drr": 3,
    "monai_spine.segmentation": 3,
    "monai_spine.regression": 3,
    "monai_spine.registration": 3,
    "monai_spine.cohort": 3,
    "monai_spine.report": 3,
    "monai_spine.demo": 4,
    "monai_spine.pipelines": 4,
    "monai_spine.evaluation": 4,
    "monai_spine.export": 4,
    "monai_spine.cli": 5,
    "monai_spine.deploy": 5,
    "monai_spine.__main__": 5,
}
"""Layer of each package or top-level module: 0 errors, 1 core, 2 transforms, 3 components, 4 pipelines, 5 entry
points."""


def _module_name(path: Path) -> str:
    """``monai_spine/io/convert.py`` → ``monai_spine.io.convert``; ``transforms/io.py`` → ``monai_spine.transforms.io``.
    """
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "transforms":
        parts.insert(0, "monai_spine")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_sources() -> dict[str, tuple[str, bool]]:
    """``{module: (source, is_package)}`` of every module of the project."""
    files = sorted((ROOT / "monai_spine").rglob("*.py")) + sorted((ROOT / "transforms").rglob("*.py"))
    return {_module_name(f): (f.read_text(encoding="utf-8"), f.name == "__init__.py") for f in files}


def component(module: str) -> str | None:
    """The entry of :data:`RANKS` that holds ``module`` (the longest matching prefix; the root only itself), or None."""
    parts = module.split(".")
    names = [".".join(parts[:n]) for n in range(len(parts), 1, -1)] + (
        ["monai_spine"] if module == "monai_spine" else []
    )
    return next((name for name in names if name in RANKS), None)


def imported_modules(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The project modules ``source`` imports, relative imports resolved; ``from pkg import sub`` gives ``pkg.sub``."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = ".".join(base[: len(base) - node.level + 1]) if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
    return {name for name in found if name == "monai_spine" or name.startswith("monai_spine.")}


def layer_violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """One line per import of a higher layer, per module without a layer, and per cycle between packages."""
    known = set(sources)
    problems, edges = [], {}
    for module, (source, is_package) in sorted(sources.items()):
        own = component(module)
        if own is None:
            problems.append(f"{module}: no layer; add its package to RANKS and docs/architecture.md")
            continue
        for target in sorted(imported_modules(module, source, is_package, known)):
            other = component(target)
            if other is None or other == own:
                continue
            edges.setdefault(own, set()).add(other)
            if RANKS[other] > RANKS[own]:
                problems.append(f"{module} (layer {RANKS[own]}) imports {target} (layer {RANKS[other]})")
    return problems + [f"cycle: {' -> '.join(cycle)}" for cycle in package_cycles(edges)]


def package_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle of the package graph once, as ``[a, b, ..., a]`` starting from its smallest name."""
    cycles = set()

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == path[0]:
                cycles.add(tuple(path + [nxt]))
            elif nxt not in path and nxt > path[0]:
                walk(path + [nxt])

    for start in sorted(edges):
        walk([start])
    return [list(cycle) for cycle in sorted(cycles)]


def test_every_import_points_down_and_no_package_cycle():
    sources = project_sources()
    assert "monai_spine.transforms.io" in sources and "monai_spine.cli" in sources  # the walk sees the whole tree
    problems = layer_violations(sources)
    assert not problems, "dependency rule broken:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "module, source, expected",
    [
        (
            "monai_spine.io.bad",
            "def f():\n    from monai_spine.cli import main\n",
            "monai_spine.io.bad (layer 1) imports monai_spine.cli (layer 5)",
        ),
        (
            "monai_spine.geometry.bad",
            "from ..phantom.grid import Grid\n",
            "monai_spine.geometry.bad (layer 1) imports monai_spine.phantom.grid (layer 3)",
        ),
        (
            "monai_spine.transforms.bad",
            "import monai_spine.segmentation.metrics as m\n",
            "monai_spine.transforms.bad (layer 2) imports monai_spine.segmentation.metrics (layer 3)",
        ),
        (
            "monai_spine.demo",
            "from monai_spine import cli\n",
            "monai_spine.demo (layer 4) imports monai_spine.cli (layer 5)",
        ),
        ("monai_spine.newpackage.x", "import numpy\n", "monai_spine.newpackage.x: no layer"),
    ],
)
def test_walker_catches_an_upward_import(module, source, expected):
    sources = {module: (source, False), "monai_spine.cli": ("", True), "monai_spine.phantom.grid": ("", False)}
    problems = layer_violations(sources)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_walker_catches_a_cycle_between_packages_of_one_layer():
    sources = {
        "monai_spine.cohort.pair": ("from monai_spine.registration import align_pair\n", False),
        "monai_spine.registration.qc": ("def f():\n    from ..cohort import pair\n", False),
        "monai_spine.registration.rigid": ("from .qc import f\nfrom monai_spine.io import files\n", False),
    }
    assert layer_violations(sources) == ["cycle: monai_spine.cohort -> monai_spine.registration -> monai_spine.cohort"]
