"""QR codes drawn here, as SVG: sending an otpauth URI to a chart service would hand the
TOTP secret to a third party. segno is imported on the first QR code a worker draws: only
the 2FA setup needs it (docs/performance.md, "Memory")."""

import io


def qr_svg(data: str) -> str:
    import segno

    buffer = io.BytesIO()
    segno.make(data, error="m").save(
        buffer,
        kind="svg",
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        title="Scan with your authenticator app",
        nl=False,
    )
    return buffer.getvalue().decode()
