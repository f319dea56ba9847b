"""Build hook (the rest of the configuration is pyproject.toml).

``rules/``, ``replies/`` and ``migrations/`` stay at the top of the repository, where people edit
them; a wheel carries a copy of each as ``triage/_data/<name>/``, found by triage/resources.py.
This is setuptools' documented way to add files at build time (a ``build_py`` subclass); an
editable install skips it and reads the checkout's folders. ``MANIFEST.in`` puts the folders in
the sdist so that a wheel built from it has them too.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("rules", "replies", "migrations")  # the same as triage.resources.DATA_DIRS


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's own folders are read in place
        root = Path(__file__).resolve().parent
        for name in DATA_DIRS:
            source = root / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {name}/ is missing: the wheel would not work")
            for file in sorted(source.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                    target = Path(self.build_lib, "triage", "_data", file.relative_to(root))
                    self.mkpath(str(target.parent))
                    self.copy_file(str(file), str(target))


setup(cmdclass={"build_py": BuildPyWithData})
