"""Reading and converting images: 2D projection images, 3D volumes, DICOM → NIfTI.

Supported inputs, orientation handling and errors are described in ``docs/inputs.md``.
"""

from .convert import convert
from .radiograph import FRAME_AXCODES, FRAME_LABELS, FRAMES, STANDARD_PATIENT_ORIENTATION, RadiographReader
from .volume import DicomVolumeReader, NiftiVolumeReader, volume_reader_for
