"""infra/package.py's bytecode step: every module gets a fresh unchecked-hash pyc, whatever the zip carried."""

from __future__ import annotations

import importlib.util
import marshal
import zipfile
from pathlib import Path

from infra import package as infra_package


def test_a_stale_pyc_from_the_working_tree_is_replaced(tmp_path: Path) -> None:
    # Chalice copies the tree's __pycache__: a timestamp pyc (flags 0) of other source, or of nothing at all.
    archive = tmp_path / "deployment.zip"
    stale = importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + b"\0" * 8 + marshal.dumps(compile("OLD = 1", "m", "exec"))
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("chalicelib/m.py", "NEW = 2\n")
        zf.writestr("chalicelib/__pycache__/m.cpython-312.pyc", stale)
        zf.writestr("chalicelib/__pycache__/gone.cpython-312.pyc", stale)

    compiled, skipped = infra_package.add_bytecode(archive, "/var/task/")

    assert (compiled, skipped) == (1, 0)
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["chalicelib/__pycache__/m.cpython-312.pyc", "chalicelib/m.py"]
        pyc = zf.read("chalicelib/__pycache__/m.cpython-312.pyc")
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # unchecked hash: valid whatever the unzipped dates
    code = marshal.loads(pyc[16:])  # noqa: S302  # bytes this test just compiled
    assert code.co_names == ("NEW",)
    assert code.co_filename == "/var/task/chalicelib/m.py"
