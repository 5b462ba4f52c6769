"""Vendor the web app's assets from npm into the package (run by hand when a version changes).

Fetches pinned packages with ``npm pack`` into a temporary folder, unpacks them and copies the few
files the web app needs, with their licences, into ``src/wandel/web/static`` (and axe-core for the
browser tests into ``tests/vendor``). Nothing is loaded from a CDN at run time; the copied files are
committed.

- ``htmx.org`` (0BSD): ``htmx.min.js``
- ``@kern-ux/native`` (EUPL-1.2): ``kern.min.css`` and the Fira Sans faces the pages use
  (regular, semibold, bold; upright and italic), with a ``fonts.css`` that declares only those
- ``axe-core`` (MPL-2.0, tests only): ``axe.min.js``

Usage: ``python scripts/vendor_web_assets.py`` (needs ``npm`` and the npm registry).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "wandel" / "web" / "static"
TEST_VENDOR = ROOT / "tests" / "vendor"

HTMX = "htmx.org@2.0.11"
KERN = "@kern-ux/native@2.7.2"
AXE = "axe-core@4.14.1"

FACES = (  # (file, weight, style)
    ("FiraSans-Regular.woff2", 400, "normal"),
    ("FiraSans-Italic.woff2", 400, "italic"),
    ("FiraSans-SemiBold.woff2", 600, "normal"),
    ("FiraSans-SemiBoldItalic.woff2", 600, "italic"),
    ("FiraSans-Bold.woff2", 700, "normal"),
    ("FiraSans-BoldItalic.woff2", 700, "italic"),
)


def npm_pack(spec: str, work: Path) -> Path:
    """Fetch ``spec`` as a tarball with ``npm pack`` and unpack it; the package folder."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent"], cwd=work, check=True, capture_output=True, text=True
    )
    tgz = work / out.stdout.strip().splitlines()[-1]
    dest = work / tgz.stem
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def fonts_css() -> str:
    """``@font-face`` rules for the vendored faces only."""
    rules = [
        "@font-face {\n"
        "  font-family: 'Fira Sans';\n"
        f'  src: url("./fonts/{f}") format("woff2");\n'
        f"  font-weight: {w};\n  font-style: {s};\n  font-display: swap;\n}}\n"
        for f, w, s in FACES
    ]
    return "/* Fira Sans from @kern-ux/native (see LICENSES.md) */\n" + "\n".join(rules)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        htmx, kern, axe = (npm_pack(s, work) for s in (HTMX, KERN, AXE))
        if STATIC.exists():
            shutil.rmtree(STATIC / "vendor", ignore_errors=True)
        vendor = STATIC / "vendor"
        (vendor / "fonts").mkdir(parents=True)
        shutil.copy(htmx / "dist" / "htmx.min.js", vendor / "htmx.min.js")
        shutil.copy(htmx / "LICENSE", vendor / "LICENSE.htmx.txt")
        shutil.copy(kern / "dist" / "kern.min.css", vendor / "kern.min.css")
        shutil.copy(kern / "LICENSE.md", vendor / "LICENSE.kern-ux.md")
        for f, _, _ in FACES:
            shutil.copy(kern / "dist" / "fonts" / "fira-sans" / f, vendor / "fonts" / f)
        (vendor / "fonts.css").write_text(fonts_css(), encoding="utf-8")
        (vendor / "LICENSES.md").write_text(
            "# Vendored web assets\n\n"
            f"- `htmx.min.js`: {HTMX}, Zero-Clause BSD (`LICENSE.htmx.txt`)\n"
            f"- `kern.min.css`, `fonts/`: {KERN}, EUPL-1.2 (`LICENSE.kern-ux.md`); the Fira Sans\n"
            "  faces are distributed in that package; Fira Sans itself is under the SIL Open Font\n"
            "  Licence 1.1 (Mozilla Foundation, Carrois Corporate)\n",
            encoding="utf-8",
        )
        TEST_VENDOR.mkdir(parents=True, exist_ok=True)
        shutil.copy(axe / "axe.min.js", TEST_VENDOR / "axe.min.js")
        shutil.copy(axe / "LICENSE", TEST_VENDOR / "LICENSE.axe-core.txt")
    print(f"vendored into {STATIC / 'vendor'} and {TEST_VENDOR}")


if __name__ == "__main__":
    main()
