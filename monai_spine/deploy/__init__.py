"""The MONAI Deploy application (part 7): DICOM in, spine curve out."""
