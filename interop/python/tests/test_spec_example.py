"""The worked example of docs/SPEC.md section 12, recomputed by this verifier."""

import pathlib
import re
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from covenant_verify.logformat import (  # noqa: E402
    NoteKey,
    chain_hash,
    decode_entry,
    leaf_hash,
    node_hash,
    open_checkpoint,
    tree_hash,
)
from covenant_verify.protowire import Schema  # noqa: E402
from covenant_verify.replay import Replay, signing_input  # noqa: E402
from covenant_verify.protowire import decode  # noqa: E402

REPO = HERE.parents[2]


def example():
    """The example's values: name -> hex string or text (checkpoint: the note)."""
    text = (REPO / "docs" / "SPEC.md").read_text(encoding="utf-8")
    block = text.split("<!-- spec-example -->", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    values, name = {}, None
    for line in block.split("\n"):
        if name is not None and (line.startswith("  ") or (line == "" and name == "checkpoint")):
            values[name].append(line[2:])
        elif ":" in line:
            name, value = line.split(":", 1)
            values[name] = [value.strip()] if value.strip() else []
    return {k: v for k, v in values.items()}


class SpecExample(unittest.TestCase):
    def setUp(self):
        self.values = example()
        self.schema = Schema.parse(
            (REPO / "proto" / "covenant" / "v1" / "events.proto").read_text(encoding="utf-8")
        )

    def hex(self, name):
        return bytes.fromhex("".join(self.values[name]))

    def test_entries_hashes_root_and_checkpoint(self):
        leaves = []
        replay = Replay(self.schema)
        previous = bytes(32)
        for n in range(3):
            raw = self.hex(f"entry {n}")
            entry = decode_entry(raw)
            self.assertEqual(entry.seq, n)
            self.assertEqual(entry.previous, previous)
            self.assertEqual(entry.envelope, self.hex(f"entry {n} envelope"))
            self.assertEqual(str(entry.stored_at_ns), self.values[f"entry {n} stored_at_ns"][0])
            self.assertEqual(chain_hash(raw), self.hex(f"entry {n} chain hash"))
            self.assertEqual(leaf_hash(raw), self.hex(f"entry {n} leaf hash"))
            if n > 0:
                envelope = decode(self.schema, "Envelope", entry.envelope)
                self.assertEqual(signing_input(envelope), self.hex(f"entry {n} signing input"))
                self.assertEqual(envelope["signature"], self.hex(f"entry {n} signature"))
            replay.accept(entry.envelope, entry.stored_at_ns)
            previous = chain_hash(raw)
            leaves.append(leaf_hash(raw))
        self.assertEqual(node_hash(leaves[0], leaves[1]), self.hex("node hash of leaves 0 and 1"))
        self.assertEqual(tree_hash(leaves), self.hex("root"))
        key = NoteKey(self.values["verifier key"][0], 0x01)
        self.assertEqual(key.public_key, self.hex("log public key"))
        note = "\n".join(self.values["checkpoint"]).rstrip("\n") + "\n"
        checkpoint = open_checkpoint(note, key)
        self.assertEqual((checkpoint.size, checkpoint.root), (3, self.hex("root")))
        self.assertEqual(replay.genesis["origin"], checkpoint.origin)


if __name__ == "__main__":
    unittest.main()
