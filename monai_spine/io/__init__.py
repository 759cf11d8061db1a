"""Reading, checking, converting and writing files: 2D projection images, 3D volumes, DICOM → NIfTI, datalists.

Supported inputs, orientation handling and errors are described in ``docs/inputs.md``.
"""

from .checks import check_file, check_finite_and_not_blank, check_same_grid
from .convert import convert
from .datalist import SPLITS, split_balanced, write_datalist
from .dicom import check_monochrome, decode_dicom_pixels, read_dicom
from .files import DECIMALS, as_plain, atomic_path, atomic_write_text, json_text, rounded, staged_output
from .nifti import NIFTI_SUFFIXES, is_nifti_path, load_nifti, nifti_array
from .radiograph import FRAME_AXCODES, FRAME_LABELS, FRAMES, STANDARD_PATIENT_ORIENTATION, RadiographReader
from .volume import DicomVolumeReader, NiftiVolumeReader, volume_reader_for
