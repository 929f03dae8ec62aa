"""The CLI's pure parts: config files and their modes, what it uploads, exit codes, error messages."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from chitram_cli import config
from chitram_cli.api import Api, CliError, describe_http_error
from chitram_cli.config import Exit
from chitram_cli.main import combine
from chitram_cli.upload import TYPES_BY_EXTENSION, claimed_type, discover

from chalicelib import catalog
from tests.conftest import make_jpeg, make_png


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CHITRAM_API_URL", "CHITRAM_SITE_URL", "CHITRAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHITRAM_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_the_clis_extensions_and_types_are_the_catalogs() -> None:
    expected = {f".{extension}": f.mime_type for f in catalog.FORMATS for extension in f.extensions}
    assert expected == TYPES_BY_EXTENSION


def test_credentials_file_is_0600_in_a_0700_directory(config_dir: Path) -> None:
    path = config.save(config.Config(api_url="http://api", token="chi_secret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["token"] == "chi_secret"
    config.save_state("x.json", {"a": 1})
    assert stat.S_IMODE((config_dir / "state" / "x.json").stat().st_mode) == 0o600


def test_environment_overrides_but_is_not_saved(monkeypatch: pytest.MonkeyPatch) -> None:
    config.save(config.Config(api_url="http://stored/", token="stored"))
    monkeypatch.setenv("CHITRAM_API_URL", "http://env/")
    monkeypatch.setenv("CHITRAM_TOKEN", "from-env")
    assert (config.load().api_url, config.load().token) == ("http://env", "from-env")
    assert (config.load(apply_env=False).api_url, config.load(apply_env=False).token) == ("http://stored", "stored")


def test_discover_walks_directories_for_images_and_reports_what_is_not(tmp_path: Path) -> None:
    (tmp_path / "album" / "deeper").mkdir(parents=True)
    (tmp_path / "album" / "a.jpg").write_bytes(make_jpeg(20, 20))
    (tmp_path / "album" / "deeper" / "b.PNG").write_bytes(make_png())
    (tmp_path / "album" / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    files, problems = discover(
        [str(tmp_path / "album"), str(tmp_path / "album" / "a.jpg"), str(tmp_path / "missing"), str(tmp_path / "empty")]
    )
    assert [p.name for p in files] == ["a.jpg", "b.PNG"]  # a.jpg named twice, uploaded once
    assert [(Path(p.path).name, p.error) for p in problems] == [
        ("missing", "No such file or directory."),
        ("empty", "No images in this directory."),
    ]


def test_claimed_type_falls_back_to_the_magic_bytes(tmp_path: Path) -> None:
    (tmp_path / "screenshot").write_bytes(make_png())
    (tmp_path / "readme.md").write_text("# not an image")
    assert claimed_type(tmp_path / "screenshot") == "image/png"
    assert claimed_type(tmp_path / "readme.md") is None


def test_exit_code_names_the_most_actionable_failure() -> None:
    assert combine([]) == Exit.OK
    assert combine([0, 0]) == Exit.OK
    assert combine([0, Exit.FILES_FAILED]) == Exit.FILES_FAILED
    assert combine([Exit.FILES_FAILED, Exit.AUTH]) == Exit.AUTH
    assert combine([Exit.AUTH, Exit.UNREACHABLE]) == Exit.UNREACHABLE
    assert combine([Exit.UNREACHABLE, Exit.INTERRUPTED, 0]) == Exit.INTERRUPTED


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (401, "TOKEN_EXPIRED", Exit.AUTH),
        (401, "INVALID_TOKEN", Exit.AUTH),
        (403, "INSUFFICIENT_SCOPE", Exit.AUTH),
        (400, "INVALID_FILE_FORMAT", Exit.FILES_FAILED),
        (413, "FILE_TOO_LARGE", Exit.FILES_FAILED),
        (503, "STORAGE_UNAVAILABLE", Exit.API_ERROR),
    ],
)
def test_api_errors_keep_the_apis_message_and_map_to_exit_codes(status: int, code: str, exit_code: Exit) -> None:
    response = httpx.Response(status, json={"detail": {"code": code, "message": "Said the API.", "details": {}}})
    error = describe_http_error(response)
    assert error.exit_code == exit_code
    assert error.code == code
    assert error.message.startswith(("Said the API.", "The API failed: Said the API."))


def test_rate_limits_are_waited_out_then_the_call_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"id": "me"})])
    slept: list[float] = []
    api = Api("http://api", transport=httpx.MockTransport(lambda request: next(answers)), sleep=slept.append)
    assert api.me() == {"id": "me"}
    assert slept == [3.0]


def test_a_refused_connection_is_an_unreachable_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = Api("http://api", transport=httpx.MockTransport(refuse))
    with pytest.raises(CliError) as caught:
        api.me()
    assert caught.value.exit_code == Exit.UNREACHABLE
    assert "Cannot reach the Chitram API at http://api" in caught.value.message


def test_progress_bars_count_each_file_and_the_total() -> None:
    import io

    from chitram_cli.progress import PlainReporter, RichReporter
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    bars = RichReporter(files=2, total_bytes=300, console=console)
    with bars:
        bars.start("a", "a.jpg", 100)
        bars.start("b", "b.jpg", 200)
        bars.advance("a", 100)
        bars.advance("b", 50)
        bars.advance("b", 200)
        bars.finish("a", "ready")
        bars.finish("b", "ready")
    total = bars.progress.tasks[bars.total]
    assert (total.completed, total.description) == (300, "total 2/2 files")

    lines = io.StringIO()
    plain = PlainReporter(files=1, total_bytes=100, stream=lines)
    plain.start("a", "a.jpg", 100)
    plain.advance("a", 60)
    plain.finish("a", "ready")
    assert lines.getvalue().splitlines() == [
        "a.jpg: uploading 100 B | total 0% (0 B/100 B), 0/1 files done",
        "a.jpg: 50% | total 60% (60 B/100 B), 0/1 files done",
        "a.jpg: ready | total 60% (60 B/100 B), 1/1 files done",
    ]
