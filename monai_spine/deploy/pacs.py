"""A DICOM node (PACS) as the application's source and sink, with pynetdicom: C-GET a study, C-STORE results back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    SecondaryCaptureImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
)

from monai_spine.errors import SpineInputError

__all__ = ["DicomNode", "CALLING_AE_TITLE", "IMAGE_CLASSES", "fetch_study", "store_files"]

CALLING_AE_TITLE = "MONAI_SPINE"
"""The application's AE title (the node must know it to answer a C-GET)."""
IMAGE_CLASSES = (DigitalXRayImageStorageForPresentation, DigitalXRayImageStorageForProcessing,
                 ComputedRadiographyImageStorage, SecondaryCaptureImageStorage)
"""The storage classes fetched: DX, CR and secondary capture (how DXA exports arrive)."""
_TIMEOUT_S = 30


class DicomNode(NamedTuple):
    """A DICOM node's address: ``host``, ``port``, ``ae_title``."""

    host: str
    port: int
    ae_title: str

    @classmethod
    def parse(cls, text: str) -> DicomNode:
        """``HOST:PORT:AET`` → a node; ``ValueError`` for any other form."""
        host, port, ae_title = text.rsplit(":", 2)
        if not host or not ae_title or not port.isdigit():
            raise ValueError(f"expected HOST:PORT:AET, got {text!r}")
        return cls(host, int(port), ae_title)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}:{self.ae_title}"


def _associate(ae: AE, node: DicomNode, **kwargs):
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = _TIMEOUT_S
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, **kwargs)
    if not assoc.is_established:
        raise SpineInputError(str(node), "cannot open a DICOM association (is the node up and does it know AE title "
                                         f"{ae.ae_title}?)")
    return assoc


def fetch_study(node: DicomNode, study_uid: str, folder: str | os.PathLike) -> list[Path]:
    """C-GET the DX, CR and secondary-capture images of study ``study_uid`` from ``node`` into ``folder`` (one file
    per instance, named by its SOP Instance UID); return the files.

    Raises:
        SpineInputError: no association, a failed C-GET, or no image of those classes in the study.
    """
    folder = Path(folder)
    files: list[Path] = []

    def keep(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        files.append(folder / f"{ds.SOPInstanceUID}.dcm")
        ds.save_as(files[-1], enforce_file_format=True)
        return 0x0000

    ae = AE(ae_title=CALLING_AE_TITLE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop_class in IMAGE_CLASSES:
        ae.add_requested_context(sop_class)
    roles = [build_role(sop_class, scp_role=True) for sop_class in IMAGE_CLASSES]
    query = _study_query(study_uid)
    assoc = _associate(ae, node, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, keep)])
    try:
        statuses = [status.Status for status, _ in
                    assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet) if status]
    finally:
        assoc.release()
    if not statuses or statuses[-1] not in (0x0000, 0xB000):
        raise SpineInputError(str(node), f"C-GET of study {study_uid} failed (status 0x{statuses[-1]:04X})"
                              if statuses else f"no answer to the C-GET of study {study_uid}")
    if not files:
        raise SpineInputError(str(node), f"study {study_uid} holds no DX, CR or secondary-capture image")
    return files


def _study_query(study_uid: str) -> Dataset:
    """The C-GET identifier of a whole study."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    return query


def store_files(node: DicomNode, paths) -> None:
    """C-STORE the DICOM files ``paths`` to ``node``.

    Raises:
        SpineInputError: no association, or a store the node refused.
    """
    datasets = [dcmread(path) for path in paths]
    ae = AE(ae_title=CALLING_AE_TITLE)
    for sop_class in sorted({str(ds.SOPClassUID) for ds in datasets}):
        ae.add_requested_context(sop_class)
    assoc = _associate(ae, node)
    try:
        refused = [(path, status) for path, ds in zip(paths, datasets)
                   if (status := assoc.send_c_store(ds)) is None or status.Status != 0x0000]
    finally:
        assoc.release()
    if refused:
        path, status = refused[0]
        code = f"status 0x{status.Status:04X}" if status else "no answer"
        raise SpineInputError(str(node), f"C-STORE of {Path(path).name} refused ({code})")
