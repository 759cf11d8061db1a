"""Pictures a clinician can read: the curves over the input image, and a one-page report."""

from .figures import save_biplanar_overlay, save_overlay, save_report
