"""The certificate's QR images; its printed document is the common layout (certificates.printing)."""
from certapp.common.printing import qr_png, qr_svg, qr_version

__all__ = ["qr_png", "qr_svg", "qr_version"]
