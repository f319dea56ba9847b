"""Where the rule packs, reply templates and migrations are, with no environment variable needed.

An installed wheel carries them inside the package as ``triage/_data/{rules,replies,migrations}``
(``setup.py`` copies the repository's folders there at build time; docs/decisions.md
"Packaging"). A source checkout or an editable install has no ``_data``: the folders beside the
package are used. ``TRIAGE_RULES_DIR`` and ``TRIAGE_REPLIES_DIR`` override the first two
(triage/config.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

PACKAGE_DIR: Final = Path(__file__).resolve().parent
PACKAGED_DATA: Final = PACKAGE_DIR / "_data"
CHECKOUT_ROOT: Final = PACKAGE_DIR.parent
# The folders shipped as package data; setup.py copies exactly these.
DATA_DIRS: Final = ("rules", "replies", "migrations")

DataDir = Literal["rules", "replies", "migrations"]


def data_dir(name: DataDir) -> Path:
    """The packaged copy of ``name`` when there is one, else the checkout's folder."""
    packaged = PACKAGED_DATA / name
    return packaged if packaged.is_dir() else CHECKOUT_ROOT / name
