"""Hand-made cases for the canonical-encoding check and the field rules (SPEC 8.3)."""

import pathlib
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from covenant_verify import ed25519  # noqa: E402
from covenant_verify.currencies import CURRENCIES  # noqa: E402
from covenant_verify.fields import is_date, is_event_id, is_id, is_url, is_blank  # noqa: E402
from covenant_verify.protowire import ProtoError, Schema, decode  # noqa: E402

SCHEMA = Schema.parse((HERE.parents[2] / "proto/covenant/v1/events.proto").read_text("utf-8"))


def outcome(message, hex_bytes):
    try:
        decode(SCHEMA, message, bytes.fromhex(hex_bytes))
        return "ok"
    except ProtoError as error:
        return error.code


class Canonical(unittest.TestCase):
    def test_what_a_proto3_encoder_writes_is_accepted(self):
        self.assertEqual(outcome("KeyRevoked", "0a0161120162"), "ok")
        self.assertEqual(outcome("KeyGranted", "220101"), "ok")  # packed roles
        self.assertEqual(outcome("Indicator", "210000000000000000"), "ok")  # optional 0.0
        self.assertEqual(outcome("CommitmentMade", "4a00"), "ok")  # an empty message, set
        self.assertEqual(outcome("ActorRegistered", "18ffffffffffffffffff01"), "ok")  # enum -1

    def test_other_encodings_of_the_same_message_are_refused(self):
        cases = {
            "out of order": ("KeyRevoked", "1201620a0161"),
            "written twice": ("KeyRevoked", "0a01610a0161"),
            "unknown field": ("KeyRevoked", "0a0161180a"),
            "default written": ("KeyRevoked", "0a00"),
            "long tag": ("KeyRevoked", "8a000161"),
            "long varint": ("ActorRegistered", "188200"),
            "enum -1 in 5 bytes": ("ActorRegistered", "18ffffffff0f"),
            "unpacked": ("KeyGranted", "2001"),
            "empty packed": ("KeyGranted", "2200"),
            "packed twice": ("KeyGranted", "2201012201 02".replace(" ", "")),
            "-0.0 written": ("Measurement", "110000000000000080"),
            "two kinds": ("EventBody", "12001a00"),
            "bool 2": ("Indicator", "1802"),
            "message twice": ("CommitmentMade", "4a004a00"),
        }
        for name, (message, data) in cases.items():
            self.assertEqual(outcome(message, data), "non_canonical", name)

    def test_bytes_that_do_not_parse_are_undecodable(self):
        cases = {
            "truncated": ("KeyRevoked", "0a05"),
            "not UTF-8": ("KeyRevoked", "0a01ff"),
            "wrong wire type": ("KeyRevoked", "0801"),
            "varint over 64 bits": ("Envelope", "1880808080808080808002"),
            "end group alone": ("KeyRevoked", "3c"),
        }
        for name, (message, data) in cases.items():
            self.assertEqual(outcome(message, data), "undecodable", name)


class Fields(unittest.TestCase):
    def test_ids_and_event_ids(self):
        self.assertTrue(is_id("GB-GOV-01") and is_id("uk-mp:4514") and is_id("a" * 128))
        self.assertFalse(is_id("") or is_id("a b") or is_id("a" * 129) or is_id("é"))
        self.assertTrue(is_event_id("01JG0000000000000000000001"))
        self.assertTrue(is_event_id("0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"))
        for bad in [
            "81JG0000000000000000000001",  # first character above 7
            "01jg0000000000000000000001",  # lower case
            "01JG000000000000000000000I",  # a Crockford alias
            "0190A3B4-5C6D-7E8F-9A0B-1C2D3E4F5A6B",  # upper-case UUID
            "0190a3b4-5c6d-4e8f-9a0b-1c2d3e4f5a6b",  # UUIDv4
            "0190a3b4-5c6d-7e8f-ca0b-1c2d3e4f5a6b",  # wrong variant
        ]:
            self.assertFalse(is_event_id(bad), bad)

    def test_dates(self):
        self.assertTrue(is_date("2024-02-29") and is_date("1900-01-01") and is_date("9999-12-31"))
        for bad in ["2023-02-29", "1900-02-29", "1899-12-31", "2026-13-01", "2026-1-01", "٢٠٢٦-01-01"]:
            self.assertFalse(is_date(bad), bad)

    def test_blank_text(self):
        self.assertTrue(is_blank("") and is_blank(" \t\u00a0\u3000\u2028"))
        self.assertFalse(is_blank(" x ") or is_blank("\u200b"))  # zero width space is not White_Space

    def test_urls(self):
        for good in ["https://www.gov.uk/x", "http://localhost:8080/a?b=c#d", "https://a.b"]:
            self.assertTrue(is_url(good), good)
        for bad in ["a;b", "www.gov.uk/x", "not a url at all", "HTTPS://a.b", "https://a..b",
                    "https://-a.b", "https://ab", "https://a.b/ c", "https://a.b/{x}",
                    "https://a.b:123456", "https://a.b" + "/x" * 1100]:
            self.assertFalse(is_url(bad), bad)


class Currencies(unittest.TestCase):
    def test_the_list_is_the_spec_appendix(self):
        spec = (HERE.parents[2] / "docs" / "SPEC.md").read_text("utf-8")
        marker = "<!-- currency-codes -->"
        self.assertIn(marker, spec, "SPEC appendix A lists the currency codes")
        block = spec.split(marker, 1)[1].split("```text", 1)[1].split("```", 1)[0]
        self.assertEqual(CURRENCIES, frozenset(block.split()))


class Ed25519(unittest.TestCase):
    def test_zip215_edges(self):
        # The identity as A and R (a small-order point) with S = 0: ZIP-215 accepts it for any
        # message, where RFC 8032's strict rules would not.
        identity = (1).to_bytes(32, "little")
        self.assertTrue(ed25519.verify(identity, b"anything", identity + bytes(32)))
        # Its non-canonical encoding (y = p + 1) is accepted too.
        non_canonical = (ed25519.P + 1).to_bytes(32, "little")
        self.assertTrue(ed25519.verify(non_canonical, b"x", non_canonical + bytes(32)))
        # S = L is refused even where the equation would hold.
        self.assertFalse(
            ed25519.verify(identity, b"x", identity + ed25519.L.to_bytes(32, "little"))
        )


if __name__ == "__main__":
    unittest.main()
