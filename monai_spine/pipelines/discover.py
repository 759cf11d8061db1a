"""The studies of ``monai-spine batch --input``: study folders of DICOM images, loose 2D NIfTI files, or a CSV list.

A **study folder** is a folder that holds DICOM projection images (its sub-folders are studies of their own). Its
AP and lateral views (``ViewPosition`` AP / PA and LL / RL / LATERAL, else the file names ``ap.dcm`` and
``lateral.dcm``) go to the bi-planar route; its coronal image to the DXA route: ``dxa.dcm`` when the folder has one
(other coronal images beside it, such as a phantom's ``dxa_soft.dcm``, are left out), else its only coronal image,
else a lone AP. Volumes and documents (CT, MR, SR, ... slices) are not study images. A **NIfTI file** (``.nii``,
``.nii.gz``) with a 2D image, in a folder without DICOM images, is a DXA study. A **CSV list** has a header with
``id`` and ``dxa`` and / or ``ap``, ``lateral``; paths are relative to the CSV.

A study found but unusable (two patients in one folder, an unreadable header, two coronal images and no
``dxa.dcm``) is still listed, with its :attr:`StudyInput.problem`: it fails alone and the others run.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from monai_spine.errors import SpineInputError
from monai_spine.projection.calibration import VIEW_POSITIONS

__all__ = ["StudyInput", "NOT_STUDY_MODALITIES", "find_studies", "studies_in_folder", "studies_from_csv"]

NOT_STUDY_MODALITIES = frozenset({"CT", "MR", "PT", "NM", "US", "SR", "SEG", "RTSTRUCT", "PR", "KO", "DOC", "REG"})
"""DICOM ``Modality`` values of files that are not a study's projection images (volume slices and documents)."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_NIFTI = (".nii", ".nii.gz")


@dataclass(frozen=True)
class StudyInput:
    """One study of a batch.

    Args:
        id: the study's name and its folder under ``--out`` (letters, digits, ``.``, ``_``, ``-``).
        dxa: its coronal DXA (DICOM or 2D NIfTI), if any.
        ap, lateral: its bi-planar views, if any.
        problem: why the study cannot run (it fails with this one line); empty when it can.
    """

    id: str
    dxa: str | None = None
    ap: str | None = None
    lateral: str | None = None
    problem: str = ""

    @property
    def routes(self) -> tuple[str, ...]:
        """``"dxa"`` and / or ``"biplanar"``: the routes the study runs, in that order."""
        return (("dxa",) if self.dxa else ()) + (("biplanar",) if self.ap and self.lateral else ())


def _safe_id(relative: str) -> str:
    """A folder name for the study at ``relative`` (a path under the input): ``/`` → ``__``, other unsafe
    characters → ``_`` with a hash of ``relative`` appended, so that two such paths do not share an id."""
    joined = relative.replace("/", "__")
    name = _SAFE.sub("_", joined).lstrip(".") or "study"
    return name if name == joined else f"{name}-{hashlib.sha1(relative.encode()).hexdigest()[:8]}"


def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(_NIFTI)


def _is_dicom(path: Path) -> bool:
    from pydicom.misc import is_dicom

    return path.suffix.lower() in (".dcm", ".dicom") or (not path.suffix and is_dicom(path))


def _is_2d_nifti(path: Path) -> bool:
    import nibabel as nib

    try:
        shape = nib.load(path).shape
    except Exception:  # an unreadable file is listed, and fails when its study loads it
        return True
    return len(shape) == 2 or (len(shape) == 3 and shape[2] == 1)


def _headers(paths: list[Path]) -> tuple[dict, str]:
    """``{path: (PatientID, ViewPosition)}`` of the DICOM projection images among ``paths``, and a problem."""
    from monai_spine.io.dicom import read_dicom

    found = {}
    for path in paths:
        try:
            ds = read_dicom(path, stop_before_pixels=True)
        except SpineInputError as err:
            return {}, str(err)
        if str(ds.get("Modality", "")).upper() not in NOT_STUDY_MODALITIES:
            found[path] = (str(ds.get("PatientID", "")), str(ds.get("ViewPosition", "") or "").strip().upper())
    return found, ""


def _view(path: Path, position: str) -> str:
    """``"ap"``, ``"lateral"`` (``ViewPosition``, else the file name) or ``"coronal"``."""
    return VIEW_POSITIONS.get(position, (None,))[0] or {"ap": "ap", "lateral": "lateral"}.get(path.stem.lower(),
                                                                                             "coronal")


def _folder_study(study_id: str, folder: Path, images: dict) -> StudyInput:
    """The study of a folder's DICOM images ``{path: (PatientID, ViewPosition)}`` (module docstring)."""
    views = {"ap": [], "lateral": [], "coronal": []}
    for path, (_, position) in sorted(images.items()):
        views[_view(path, position)].append(path)
    views["coronal"] = [p for p in views["coronal"] if p.name.lower() == "dxa.dcm"] or views["coronal"]
    patients = {images[path][0]: path.name for paths in views.values() for path in paths}
    if len(patients) > 1:
        listed = ", ".join(f"{patient!r} in {name}" for patient, name in sorted(patients.items()))
        return StudyInput(study_id, problem=f"{folder}: images of {len(patients)} patients ({listed}): one patient "
                                            "per study folder")
    for view, paths in views.items():
        if len(paths) > 1:
            hint = " (the DXA named dxa.dcm)" if view == "coronal" else ""
            return StudyInput(study_id, problem=f"{folder}: {len(paths)} {view} images "
                                                f"({', '.join(p.name for p in paths)}): one per study folder{hint}")
    ap, lateral, coronal = (os.fspath(views[v][0]) if views[v] else None for v in ("ap", "lateral", "coronal"))
    if lateral and not ap:
        return StudyInput(study_id, problem=f"{lateral}: a lateral view without an AP view beside it")
    if ap and not lateral:  # a lone AP is the study's coronal image
        return StudyInput(study_id, dxa=coronal or ap)
    return StudyInput(study_id, dxa=coronal, ap=ap, lateral=lateral)


def studies_in_folder(root: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[StudyInput]:
    """The studies under ``root`` (module docstring), sorted by id; folders starting with ``.`` and ``exclude``
    (the batch's own output folder) are not searched."""
    root = Path(root).resolve()
    exclude = Path(exclude).resolve() if exclude is not None else None
    studies = []
    for folder, subfolders, names in os.walk(root):
        folder = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and folder / d != exclude)
        files = [folder / name for name in sorted(names) if not name.startswith(".")]
        relative = folder.relative_to(root).as_posix()
        images, problem = _headers([path for path in files if not _is_nifti(path) and _is_dicom(path)])
        if images or problem:
            study_id = _safe_id(root.name if relative == "." else relative)
            studies.append(StudyInput(study_id, problem=problem) if problem else
                           _folder_study(study_id, folder, images))
            continue
        for path in files:
            if _is_nifti(path) and _is_2d_nifti(path):
                name = path.relative_to(root).as_posix()
                studies.append(StudyInput(_safe_id(re.sub(r"\.nii(\.gz)?$", "", name, flags=re.I)), os.fspath(path)))
    return sorted(studies, key=lambda study: study.id)


def studies_from_csv(path: str | os.PathLike) -> list[StudyInput]:
    """The studies of a CSV list: header ``id`` and ``dxa`` and / or ``ap``, ``lateral`` (empty cells allowed);
    paths relative to the CSV. A row with no image, or one view of the two, is a study that fails.

    Raises:
        SpineInputError: the CSV cannot be read or lacks the columns.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            columns = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SpineInputError(path, f"cannot read the CSV list ({err})") from None
    if "id" not in columns or not ({"dxa"} <= columns or {"ap", "lateral"} <= columns):
        raise SpineInputError(path, "a study list needs the columns id,dxa or id,ap,lateral (or all four)")
    studies = []
    for number, row in enumerate(rows, start=2):
        files = {key: os.fspath(path.parent / row[key]) if row.get(key) else None for key in ("dxa", "ap", "lateral")}
        study = StudyInput(row["id"], **files)
        if not study.routes or bool(files["ap"]) != bool(files["lateral"]):
            study = StudyInput(row["id"], problem=f"{path}: line {number}: needs a dxa, or both ap and lateral")
        studies.append(study)
    return studies


def find_studies(source: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[StudyInput]:
    """The studies of ``source``: a CSV list (``*.csv``), else a folder (:func:`studies_in_folder`).

    Raises:
        SpineInputError: ``source`` is missing or unreadable, holds no study, or has unsafe or repeated ids.
    """
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        studies = studies_from_csv(source)
    elif source.is_dir():
        studies = studies_in_folder(source, exclude)
    else:
        raise SpineInputError(source, "not a folder of studies or a CSV list")
    if not studies:
        raise SpineInputError(source, "no studies found (study folders of DICOM images, 2D NIfTI files)")
    ids = [study.id for study in studies]
    for study_id in ids:
        if _SAFE.search(study_id) or study_id.startswith("."):
            raise SpineInputError(source, f"study id {study_id!r} is not a safe folder name (letters, digits, . _ -)")
        if ids.count(study_id) > 1:
            raise SpineInputError(source, f"study id {study_id!r} appears twice")
    return studies
