"""Running the conformance vectors of spec/vectors/*.json (format: spec/vectors/README.md)."""

import json
import pathlib

from . import ed25519
from .logformat import (
    ChainChecker,
    FormatError,
    NoteKey,
    chain_hash,
    cosignature_timestamp,
    decode_entry,
    leaf_hash,
    open_checkpoint,
    tile_path,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from .replay import Rejected, Replay


class Report:
    def __init__(self, out):
        self.out = out
        self.passed = 0
        self.failed = []
        self.notes = []

    def case(self, file, name, problem):
        if problem is None:
            self.passed += 1
            self.out(f"PASS {file}: {name}")
        else:
            self.failed.append(f"{file}: {name}: {problem}")
            self.out(f"FAIL {file}: {name}: {problem}")

    def note(self, file, name, text):
        self.notes.append(f"{file}: {name}: {text}")
        self.out(f"note {file}: {name}: {text}")


def _hex(text):
    return bytes.fromhex(text)


def _guard(check):
    """Run a case's check; an exception in it is a failure of the case, not of the runner."""
    try:
        return check()
    except Exception as error:  # noqa: BLE001 - any crash on a vector is that case failing
        return f"crashed: {type(error).__name__}: {error}"


def run_envelopes(data, schema, report, file):
    replays = {}
    for name, entries in data["logs"].items():
        replay = Replay(schema)
        chain = ChainChecker()
        for seq, raw in enumerate(entries):
            entry = decode_entry(_hex(raw))
            problem = chain.push(entry)
            if problem:
                raise ValueError(f"log {name}, entry {seq}: {problem}")
            try:
                replay.accept(entry.envelope, entry.stored_at_ns)
            except Rejected as error:
                raise ValueError(f"log {name}, entry {seq} is not accepted: {error}") from None
        replays[name] = replay
    for case in data["cases"]:

        def check(case=case):
            replay = replays[case["log"]]
            field = None
            try:
                replay.check(_hex(case["envelope"]), int(case["stored_at_ns"]))
                got = "accept"
            except Rejected as error:
                got, field = error.code, error.field
                detail = error.message
            if got != case["expect"]:
                extra = f" ({field}: {detail})" if got != "accept" else ""
                return f"expected {case['expect']}, got {got}{extra}"
            expected_field = case.get("field")
            if expected_field and field != expected_field:
                report.note(file, case["name"], f"field {field!r}, reference says {expected_field!r}")
            return None

        report.case(file, case["name"], _guard(check))


def run_entries(data, schema, report, file):
    for case in data["cases"]:

        def check(case=case):
            raw = _hex(case["entry"])
            try:
                entry = decode_entry(raw)
            except FormatError as error:
                return None if case["expect"] == "invalid" else f"refused: {error}"
            if case["expect"] == "invalid":
                return "decoded, but should be refused"
            got = {
                "seq": str(entry.seq),
                "stored_at_ns": str(entry.stored_at_ns),
                "previous": entry.previous.hex(),
                "envelope": entry.envelope.hex(),
                "chain_hash": chain_hash(raw).hex(),
                "leaf_hash": leaf_hash(raw).hex(),
            }
            wrong = [k for k, v in got.items() if k in case and case[k] != v]
            return f"differs in {', '.join(wrong)}" if wrong else None

        report.case(file, case["name"], _guard(check))
    for case in data.get("chains", []):

        def check(case=case):
            chain = ChainChecker()
            first_bad = None
            for n, raw in enumerate(case["entries"]):
                try:
                    problem = chain.push(decode_entry(_hex(raw)))
                except FormatError as error:
                    problem = str(error)
                if problem:
                    first_bad = n
                    break
            if first_bad != case["first_bad"]:
                return f"first bad entry {first_bad}, expected {case['first_bad']}"
            return None

        report.case(file, case["name"], _guard(check))


def run_merkle(data, schema, report, file):
    leaves = [leaf_hash(_hex(d)) for d in data["leaves"]]
    for case in data["roots"]:
        size = case["size"]
        report.case(
            file,
            f"root of size {size}",
            _guard(lambda s=size, r=case["root"]: None if tree_hash(leaves[:s]).hex() == r
                   else "another root"),
        )
    for case in data["inclusion"]:

        def check(case=case):
            ok = verify_inclusion(
                case["index"], case["size"], _hex(case["leaf_hash"]),
                [_hex(p) for p in case["proof"]], _hex(case["root"]),
            )
            return None if ok == case["expect"] else f"verification says {ok}"

        report.case(file, case["name"], _guard(check))
    for case in data["consistency"]:

        def check(case=case):
            ok = verify_consistency(
                case["from"], case["to"], _hex(case["from_root"]), _hex(case["to_root"]),
                [_hex(p) for p in case["proof"]],
            )
            return None if ok == case["expect"] else f"verification says {ok}"

        report.case(file, case["name"], _guard(check))
    for case in data["tile_paths"]:
        got = tile_path(case["level"], case["index"], case["width"])
        name = case.get("name", case["path"])
        report.case(file, name, None if got == case["path"] else f"got {got}")


def run_checkpoints(data, schema, report, file):
    key = NoteKey(data["verifier_key"], 0x01)
    for case in data["cases"]:

        def check(case=case):
            try:
                checkpoint = open_checkpoint(case["note"], key)
            except FormatError as error:
                return None if case["expect"] == "invalid" else f"refused: {error}"
            if case["expect"] == "invalid":
                return "verified, but should be refused"
            if str(checkpoint.size) != case["size"] or checkpoint.root.hex() != case["root"]:
                return "another size or root"
            return None

        report.case(file, case["name"], _guard(check))
    for case in data.get("cosignatures", []):

        def check(case=case):
            try:
                witness = NoteKey(case["witness_key"], 0x04)
                timestamp = cosignature_timestamp(case["note"], witness)
            except FormatError as error:
                return None if case["expect"] == "invalid" else f"refused: {error}"
            if case["expect"] == "invalid":
                return "verified, but should be refused"
            if "timestamp" in case and str(timestamp) != case["timestamp"]:
                return f"timestamp {timestamp}, expected {case['timestamp']}"
            return None

        report.case(file, case["name"], _guard(check))


def run_ed25519(data, schema, report, file):
    for case in data["cases"]:

        def check(case=case):
            ok = ed25519.verify(
                _hex(case["public_key"]), _hex(case["message"]), _hex(case["signature"])
            )
            return None if ok == case["expect"] else f"verification says {ok}"

        report.case(file, case["name"], _guard(check))


RUNNERS = {
    "envelopes": run_envelopes,
    "entries": run_entries,
    "merkle": run_merkle,
    "checkpoints": run_checkpoints,
    "ed25519": run_ed25519,
}


def run_directory(directory, schema, out=print):
    """Run every vector file of `directory`; returns the Report."""
    report = Report(out)
    files = sorted(pathlib.Path(directory).glob("*.json"))
    if not files:
        report.failed.append(f"{directory}: no vector files")
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            runner = RUNNERS[data["vectors"]]
            runner(data, schema, report, path.name)
        except Exception as error:  # noqa: BLE001 - a file we cannot run fails as a whole
            report.failed.append(f"{path.name}: cannot run: {type(error).__name__}: {error}")
            out(f"FAIL {path.name}: cannot run: {type(error).__name__}: {error}")
    return report
