"""Command line: `python3 -m covenant_verify log URL --key KEY` or `... vectors DIR`."""

import argparse
import pathlib
import sys
import time

from .logformat import FormatError, NoteKey
from .protowire import Schema
from .remote import VerifyFailure, verify_log
from .vectors import run_directory

REPO = pathlib.Path(__file__).resolve().parents[3]
DEFAULT_PROTO = REPO / "proto" / "covenant" / "v1" / "events.proto"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="covenant_verify", description=__doc__)
    parser.add_argument("--proto", default=str(DEFAULT_PROTO), help="events.proto to decode with")
    commands = parser.add_subparsers(dest="command", required=True)
    log = commands.add_parser("log", help="verify a live log over HTTP (SPEC section 9)")
    log.add_argument("url", help="the ledger's base URL (the log is under /log/)")
    log.add_argument("--key", required=True, help="the pinned verifier key, or a file holding it")
    vectors = commands.add_parser("vectors", help="run the conformance vectors")
    vectors.add_argument("directory", help="spec/vectors")
    vectors.add_argument("--quiet", action="store_true", help="print failures and the summary")
    args = parser.parse_args(argv)

    try:
        schema = Schema.parse(pathlib.Path(args.proto).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: cannot read the schema {args.proto}: {error}", file=sys.stderr)
        return 2
    if args.command == "log":
        return verify_command(args, schema)
    return vectors_command(args, schema)


def verify_command(args, schema):
    text = args.key
    if pathlib.Path(text).is_file():
        text = pathlib.Path(text).read_text(encoding="utf-8").strip()
    try:
        key = NoteKey(text, 0x01)
    except FormatError as error:
        print(f"error: the verifier key: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        size = verify_log(args.url, key, schema)
    except VerifyFailure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"ok: verified all {size} entries in {time.monotonic() - started:.1f} s")
    return 0


def vectors_command(args, schema):
    def out(line):
        if not args.quiet or not line.startswith("PASS"):
            print(line)

    report = run_directory(args.directory, schema, out)
    print(f"{report.passed} passed, {len(report.failed)} failed, {len(report.notes)} notes")
    for failure in report.failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
