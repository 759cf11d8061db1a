"""The package exports every dictionary transform of its modules, also as ``XD`` and ``XDict`` as MONAI does."""

from __future__ import annotations

import importlib
import pkgutil

from monai.transforms import MapTransform

import monai_spine.transforms as transforms


def dictionary_transforms() -> dict[str, type]:
    """The public dictionary transforms defined in the package's modules, by name (private bases excluded)."""
    found = {}
    for info in pkgutil.iter_modules(transforms.__path__):
        module = importlib.import_module(f"{transforms.__name__}.{info.name}")
        for name, obj in vars(module).items():
            defined_here = (
                not name.startswith("_")
                and isinstance(obj, type)
                and obj.__module__ == module.__name__
                and obj.__name__ == name
            )
            if defined_here and issubclass(obj, MapTransform):
                found[name] = obj
    return found


def test_every_dictionary_transform_is_exported_with_its_aliases():
    found = dictionary_transforms()
    assert {"LoadRadiographd", "MaskToCentreLined", "AdjacentSlicesd", "RandInvertd"} <= set(found)
    for name, cls in found.items():
        stem = name[:-1]
        for exported in (name, f"{stem}D", f"{stem}Dict"):
            assert exported in transforms.__all__ and getattr(transforms, exported) is cls, exported
