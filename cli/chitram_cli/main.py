"""``chitram``: the command line. Parses arguments, runs one command, maps failures to exit codes (config.Exit)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import webbrowser
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chitram_cli import __version__, config, sharex
from chitram_cli.api import Api, CliError
from chitram_cli.config import Exit
from chitram_cli.multipart import MULTIPART_THRESHOLD_BYTES
from chitram_cli.progress import PlainReporter, QuietReporter, Reporter, RichReporter
from chitram_cli.upload import DELETE_TOKENS_STATE, FileResult, Uploader, UploadOptions, discover

VISIBILITIES = ("public", "unlisted", "private")
# Which exit code wins when several things went wrong (the most actionable first).
_SEVERITY = (Exit.INTERRUPTED, Exit.UNREACHABLE, Exit.AUTH, Exit.API_ERROR, Exit.FILES_FAILED)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def combine(codes: Iterable[int]) -> Exit:
    present = set(codes)
    for code in _SEVERITY:
        if code in present:
            return code
    return Exit.OK


def _api(args: argparse.Namespace, cfg: config.Config, *, auth: bool = True) -> Api:
    return Api(cfg.api_url, cfg.token if auth else None, timeout=args.http_timeout)


def _need_token(cfg: config.Config) -> str:
    if not cfg.token:
        raise CliError("Not signed in. Run 'chitram login' first.", Exit.AUTH)
    return cfg.token


# --- config / login / logout / whoami -------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace) -> Exit:
    stored = config.load(apply_env=False)
    changed = False
    if args.api_url:
        stored.api_url, changed = args.api_url.rstrip("/"), True
    if args.site_url is not None:
        stored.site_url, changed = (args.site_url.rstrip("/") or None), True
    if changed:
        path = config.save(stored)
        err.print(f"Saved {escape(str(path))}")
    effective = config.load()
    shown = {
        "config_file": str(config.config_dir() / "config.json"),
        "api_url": effective.api_url,
        "site_url": effective.site_url,
        "signed_in": effective.token_kind,
        "email": effective.email,
    }
    if args.json:
        out.print_json(json.dumps(shown))
    else:
        for key, value in shown.items():
            out.print(f"{key}: {escape(str(value)) if value is not None else '-'}")
    return Exit.OK


def cmd_login(args: argparse.Namespace) -> Exit:
    stored = config.load(apply_env=False)
    if args.api_url:
        stored.api_url = args.api_url.rstrip("/")
    # Sign in where this run points (CHITRAM_API_URL included); only --api-url is saved.
    api = Api(args.api_url or config.load().api_url, timeout=args.http_timeout)
    try:
        if args.token is not None:
            reading_stdin = args.token == "-"  # noqa: S105 (the stdin marker)
            token = sys.stdin.readline().strip() if reading_stdin else str(args.token).strip()
            if not token:
                raise CliError("No token given.", Exit.USAGE)
            api.token = token
            profile = api.me()
            stored.token, stored.email = token, profile.get("email")
            grant = profile.get("api_token") or {}
            kind = f"API token with scope '{grant.get('scope')}'" if grant else "token"
        else:
            email = args.email or input("Email: ").strip()
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
            signed_in = api.login(email, password)
            stored.token, stored.email = str(signed_in["access_token"]), signed_in.get("user", {}).get("email")
            kind = "password (the session lasts a day; use an API token for long-running scripts)"
    finally:
        api.close()
    path = config.save(stored)
    err.print(f"Signed in as {escape(str(stored.email or '?'))} with a {kind}. Saved to {escape(str(path))} (0600).")
    return Exit.OK


def cmd_logout(args: argparse.Namespace) -> Exit:
    stored = config.load(apply_env=False)
    stored.token = stored.email = None
    config.save(stored)
    err.print("Signed out (the credential was removed from this machine; revoke API tokens on the web page).")
    return Exit.OK


def cmd_whoami(args: argparse.Namespace) -> Exit:
    cfg = config.load()
    _need_token(cfg)
    api = _api(args, cfg)
    try:
        profile = api.me()
    finally:
        api.close()
    if args.json:
        out.print_json(json.dumps(profile))
    else:
        grant = profile.get("api_token")
        how = f"API token ({grant['scope']})" if grant else "password session"
        out.print(f"{escape(str(profile.get('email') or profile.get('id')))} via {how} at {escape(cfg.api_url)}")
    return Exit.OK


# --- upload -----------------------------------------------------------------------------------------------------


def _reporter(mode: str, files: int, total: int) -> Reporter:
    if mode == "none":
        return QuietReporter()
    if mode == "bar" or (mode == "auto" and err.is_terminal):
        return RichReporter(files, total, err)
    return PlainReporter(files, total)


def cmd_upload(args: argparse.Namespace) -> Exit:
    cfg = config.load()
    files, problems = discover(args.paths)
    if not files and not problems:
        raise CliError("Nothing to upload.", Exit.USAGE)
    api = _api(args, cfg, auth=not args.anonymous)
    try:
        if api.token:
            api.me()  # a bad, expired or revoked credential fails here, once, before any upload starts
        elif args.visibility == "private":
            raise CliError("Sign in to upload private images ('chitram login').", Exit.AUTH)
        else:
            err.print("Not signed in: uploading anonymously; delete tokens are kept for 'chitram rm'.")
        total = sum(path.stat().st_size for path in files)
        options = UploadOptions(
            visibility=args.visibility,
            wait=not args.no_wait,
            timeout=args.timeout,
            jobs=args.jobs,
            site_url=cfg.site_url,
            resume=args.resume,
            multipart_threshold=args.multipart_threshold,
        )
        uploader = Uploader(api, _reporter(args.progress, len(files), total), options)
        results = problems + uploader.run(files)
    finally:
        api.close()
    _print_results(results, as_json=args.json)
    return combine(result.exit_code for result in results)


def _print_results(results: list[FileResult], *, as_json: bool) -> None:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    if as_json:
        print(json.dumps({"files": [r.to_json() for r in results], "summary": counts}, indent=2))
        return
    for result in results:
        if result.status == "ready":
            size = f"{result.width}x{result.height}" if result.width else ""
            out.print(f"[green]ready[/]  {escape(result.path)}  {size}  id {result.id}")
            out.print(f"  direct: {escape(result.direct_url or '')}")
            if result.share_url:
                out.print(f"  share:  {escape(result.share_url)}")
            if result.delete_token:
                out.print(f"  delete token: {escape(result.delete_token)}")
        else:
            out.print(f"[red]{result.status}[/]  {escape(result.path)}  {escape(result.error or '')}")
            if result.id and result.status in {"interrupted", "pending"}:
                out.print(f"  id {result.id}")
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    err.print(f"Summary: {summary}.")


# --- ls / rm / open ---------------------------------------------------------------------------------------------


def cmd_ls(args: argparse.Namespace) -> Exit:
    cfg = config.load()
    _need_token(cfg)
    api = _api(args, cfg)
    items: list[dict[str, Any]] = []
    cursor = args.cursor
    try:
        while True:
            page = api.my_images(limit=args.limit, cursor=cursor)
            items.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not (args.all and cursor):
                break
    finally:
        api.close()
    if args.json:
        print(json.dumps({"items": items, "next_cursor": cursor}, indent=2))
        return Exit.OK
    rows = [
        (
            str(item.get("id")),
            str(item.get("filename")),
            str(item.get("status")),
            str(item.get("visibility")),
            f"{item.get('width')}x{item.get('height')}" if item.get("width") else "-",
            str(item.get("created_at") or "-"),
        )
        for item in items
    ]
    if out.is_terminal:
        table = Table("id", "filename", "status", "visibility", "size", "created", box=None, pad_edge=False)
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        out.print(table)
    else:  # a pipe: one tab-separated line per image, nothing cut short
        for row in rows:
            print("\t".join(row))
    if cursor:
        err.print(f"More: chitram ls --cursor {cursor}  (or --all)")
    return Exit.OK


def cmd_rm(args: argparse.Namespace) -> Exit:
    cfg = config.load()
    api = _api(args, cfg)
    tokens = config.load_state(DELETE_TOKENS_STATE)
    codes: list[int] = []
    try:
        for image_id in args.ids:
            delete_token = args.delete_token or tokens.get(image_id)
            try:
                api.delete(image_id, delete_token)
            except CliError as exc:
                err.print(f"[red]not deleted[/] {escape(image_id)}: {escape(exc.message)}")
                codes.append(exc.exit_code)
                if exc.exit_code == Exit.UNREACHABLE:
                    break
                continue
            out.print(f"deleted {escape(image_id)}")
            if image_id in tokens:
                tokens.pop(image_id)
                config.save_state(DELETE_TOKENS_STATE, tokens)
    finally:
        api.close()
    return combine(codes)


def cmd_open(args: argparse.Namespace) -> Exit:
    cfg = config.load()
    api = _api(args, cfg)
    try:
        image = api.image(args.id)
    finally:
        api.close()
    if args.direct or not cfg.site_url:
        if image.get("status") != "ready":
            raise CliError(f"The image is {image.get('status')}; it has no file to open yet.", Exit.FILES_FAILED)
        url = api.url(str(image["url"]))
    else:
        url = f"{cfg.site_url}/image.html?id={image['id']}"
    print(url)
    if not args.print_only:
        webbrowser.open(url)
    return Exit.OK


# --- sharex -----------------------------------------------------------------------------------------------------


def cmd_sharex(args: argparse.Namespace) -> Exit:
    cfg = config.load()
    site = args.site_url or cfg.site_url
    if not site:
        raise CliError(
            "The web front end's URL is needed for the deletion page: 'chitram config --site-url URL'.", Exit.USAGE
        )
    token = args.token
    api = _api(args, cfg)
    try:
        if token is None:
            _need_token(cfg)
            if cfg.token_kind == "api token":  # noqa: S105 (a kind of credential, not one)
                raise CliError(
                    "Making a token needs a password session: 'chitram login' with your password, or pass --token.",
                    Exit.AUTH,
                )
            made = api.create_token(args.name, "upload")
            token = str(made["token"])
            err.print(
                f"Made the upload-only API token '{escape(args.name)}' (id {made['id']}); revoke it on the web page."
            )
        else:
            api.token = token
            grant = api.me().get("api_token") or {}
            if grant.get("scope") != "upload":
                raise CliError("The screenshot tools take an upload-scoped API token (scope 'upload').", Exit.USAGE)
    finally:
        api.close()
    written: list[tuple[str, str]] = []
    document = sharex.sxcu_text(cfg.api_url, site, token, args.visibility)
    if args.output == "-":
        sys.stdout.write(document)
    else:
        config.write_private(Path(args.output), document)
        written.append((args.output, "0600"))
    if args.flameshot:
        script = Path(args.flameshot)
        config.write_private(script, sharex.flameshot_script(cfg.api_url, site, token, args.visibility))
        script.chmod(0o700)
        written.append((args.flameshot, "0700"))
    for name, mode in written:
        err.print(f"Wrote {escape(name)} ({mode}: it holds the token).")
    return Exit.OK


# --- parser -----------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chitram", description="Upload to and manage a Chitram image host.")
    parser.add_argument("--version", action="version", version=f"chitram {__version__}")
    parser.add_argument("--http-timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], Exit], text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("config", cmd_config, "show or set the API URL and the web front end's URL")
    sub.add_argument("--api-url")
    sub.add_argument("--site-url", help="the web front end (share links, deletion pages); '' to unset")
    sub.add_argument("--json", action="store_true")

    sub = command("login", cmd_login, "sign in with email and password, or store a personal API token")
    sub.add_argument("--email")
    sub.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_argument("--token", help="a personal API token (chi_...); '-' reads it from standard input")
    sub.add_argument("--api-url", help="set the API URL too")

    command("logout", cmd_logout, "forget the stored credential")
    sub = command("whoami", cmd_whoami, "who the stored credential signs in as")
    sub.add_argument("--json", action="store_true")

    sub = command("upload", cmd_upload, "upload files and directories (recursively) in parallel")
    sub.add_argument("paths", nargs="+", metavar="FILE|DIR")
    sub.add_argument("--visibility", choices=VISIBILITIES)
    sub.add_argument("--json", action="store_true", help="print the results as JSON (for scripts)")
    sub.add_argument("-j", "--jobs", type=int, default=4, help="files in flight at once (default 4)")
    sub.add_argument("--no-wait", action="store_true", help="do not wait for processing to finish")
    sub.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each file to be ready")
    sub.add_argument("--anonymous", action="store_true", help="upload without the stored credential")
    sub.add_argument(
        "--resume", action="store_true", help="finish large files an earlier, interrupted run left half-uploaded"
    )
    sub.add_argument(
        "--multipart-threshold",
        type=int,
        default=MULTIPART_THRESHOLD_BYTES,
        metavar="BYTES",
        help=f"files larger than this go up as multipart uploads (default {MULTIPART_THRESHOLD_BYTES})",
    )
    sub.add_argument("--progress", choices=("auto", "bar", "plain", "none"), default="auto")

    sub = command("ls", cmd_ls, "list my images, newest first")
    sub.add_argument("--limit", type=int, default=20)
    sub.add_argument("--cursor")
    sub.add_argument("--all", action="store_true", help="follow every page")
    sub.add_argument("--json", action="store_true")

    sub = command("rm", cmd_rm, "delete images")
    sub.add_argument("ids", nargs="+", metavar="ID")
    sub.add_argument("--delete-token", help="for an anonymous upload (kept automatically for your own uploads)")

    sub = command("open", cmd_open, "open an image's page (or --direct its file) in the browser")
    sub.add_argument("id", metavar="ID")
    sub.add_argument("--direct", action="store_true")
    sub.add_argument("--print", dest="print_only", action="store_true", help="print the URL, do not open it")

    sub = command("sharex", cmd_sharex, "write a ShareX custom uploader (.sxcu) and a Flameshot/curl script")
    sub.add_argument("-o", "--output", default="chitram.sxcu", help="the .sxcu file ('-' for standard output)")
    sub.add_argument("--flameshot", metavar="SCRIPT", help="also write a Flameshot/curl upload script here")
    sub.add_argument("--token", help="use this upload-scoped API token instead of making one")
    sub.add_argument("--name", default="ShareX", help="name of the token to make (default 'ShareX')")
    sub.add_argument("--visibility", choices=VISIBILITIES)
    sub.add_argument("--site-url", help="the web front end's URL (default: from 'chitram config')")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CliError as exc:
        err.print(f"[red]error:[/] {escape(exc.message)}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        return int(Exit.INTERRUPTED)
