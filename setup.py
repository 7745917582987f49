"""Build hook; everything else about the package is in pyproject.toml.

The repository keeps the Alembic migrations and the built-in themes in top-level ``migrations/``
and ``themes/``. A wheel carries them inside the package, as ``idp/bundled/migrations`` and
``idp/bundled/themes``, where ``idp.package_data`` finds them once installed. An editable
install (``pip install -e .``) copies nothing: it reads them from the checkout."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED_FOLDERS = ("migrations", "themes")


def bundled_files():
    for folder in BUNDLED_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            relative = path.relative_to(ROOT)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".pyo"):
                yield relative


class build_py_with_bundled_folders(build_py):  # noqa: N801 -- setuptools' naming of commands
    def run(self):
        super().run()
        if self.editable_mode:
            return
        for relative in bundled_files():
            target = Path(self.build_lib, "idp", "bundled", relative)
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / relative), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return [*outputs, *(str(Path(self.build_lib, "idp", "bundled", r)) for r in bundled_files())]


setup(cmdclass={"build_py": build_py_with_bundled_folders})
