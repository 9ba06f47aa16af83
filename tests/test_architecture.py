"""The layers the README draws hold in the code: the import graph has no arrow from a lower app up to a higher one and
no circle (import-linter's contracts in .importlinter), and the cadastre names no other app, not even in a string."""

import io
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OTHER_APPS = ("zoning", "dues", "layers", "portal", "gis_portal", "data")


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed (requirements.txt)"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _strings(path: Path):
    with path.open(encoding="utf-8") as fh:
        for token in tokenize.generate_tokens(fh.readline):
            if token.type == tokenize.STRING:
                yield token.start[0], token.string


# another app's model ("zoning.Zone"), permission ("dues.view_bill"), table ("zoning_zone") or migration ("dues", ...)
NAMED = re.compile(r"""(?<![\w/])(%s)(\.[A-Za-z]|_[a-z]|["']\s*,)""" % "|".join(OTHER_APPS))


@pytest.mark.parametrize("package", ["parcels", "common"])
def test_lower_layers_name_no_app_above_them(package):
    """parcels (and the shared library) may not name a higher app by import or by string: each app plugs itself in
    (layers, import specs, sheet sections and fields, permissions) from its own AppConfig.ready."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, text in _strings(path):
            if text.startswith(('"""', "'''", 'r"""', 'f"""')):
                continue  # docstrings may explain how other apps plug in
            if NAMED.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]}")
    assert not found, "names a higher app:\n" + "\n".join(found)


def test_cadastre_migrations_depend_on_no_other_app():
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    foreign = sorted({(key, dep) for key, migration in loader.disk_migrations.items() if key[0] == "parcels"
                      for dep in migration.dependencies if dep[0] not in ("parcels", "auth", "contenttypes")})
    assert not foreign, foreign


# Apps that compose others (permits uses what may be built and the fee bills) see them only through their public
# faces: zoning/api.py and dues/api.py. Their insides stay free to change.
FACES = {"zoning": "zoning.api", "dues": "dues.api"}


def _imports(path: Path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in FACES:           # "from zoning import api"
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"
            else:
                yield node.lineno, node.module


@pytest.mark.parametrize("package", ["permits"])
def test_composing_apps_use_only_the_public_faces(package):
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in FACES and not (module == FACES[top] or module.startswith(FACES[top] + ".")):
                found.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert not found, "goes past the public face (zoning.api, dues.api):\n" + "\n".join(found)
