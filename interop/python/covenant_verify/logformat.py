"""Entries, the chain, the Merkle tree, tile paths and signed notes (SPEC sections 3 to 7, 10)."""

import base64
import binascii
import hashlib
import re

import blake3

from . import ed25519

MAX_ENVELOPE = 65_000
ENTRY_HEADER = 53
CHAIN_CONTEXT = "covenant 2026-11 ledger entry chain v1"
ZERO_HASH = bytes(32)


class FormatError(Exception):
    """Bytes or text that do not have the form the SPEC gives them."""


# --- Entries and the chain (sections 3 and 4) ---


class Entry:
    def __init__(self, raw, seq, stored_at_ns, previous, envelope):
        self.raw = raw
        self.seq = seq
        self.stored_at_ns = stored_at_ns
        self.previous = previous
        self.envelope = envelope


def decode_entry(raw):
    if len(raw) < ENTRY_HEADER:
        raise FormatError(f"entry of {len(raw)} bytes, shorter than the 53-byte header")
    if raw[0] != 0x01:
        raise FormatError(f"entry version {raw[0]}, not 1")
    length = int.from_bytes(raw[49:53], "big")
    if length != len(raw) - ENTRY_HEADER:
        raise FormatError(
            f"envelope length {length} but {len(raw) - ENTRY_HEADER} bytes follow the header"
        )
    if length > MAX_ENVELOPE:
        raise FormatError(f"envelope of {length} bytes, over {MAX_ENVELOPE}")
    return Entry(
        raw,
        int.from_bytes(raw[1:9], "big"),
        int.from_bytes(raw[9:17], "big"),
        raw[17:49],
        raw[53:],
    )


def chain_hash(raw):
    return blake3.blake3(raw, derive_key_context=CHAIN_CONTEXT).digest()


def blake3_hash(data):
    return blake3.blake3(data).digest()


class ChainChecker:
    """Checks entries one by one in log order (section 4)."""

    def __init__(self):
        self.next_seq = 0
        self.previous_hash = ZERO_HASH
        self.previous_time = None

    def push(self, entry):
        """None when the entry links to the one before, else what is wrong."""
        if entry.seq != self.next_seq:
            return f"seq {entry.seq}, expected {self.next_seq}"
        if entry.previous != self.previous_hash:
            return "previous hash is not the chain hash of the entry before"
        if self.previous_time is not None and entry.stored_at_ns < self.previous_time:
            return (
                f"stored_at_ns {entry.stored_at_ns} is before the previous entry's "
                f"{self.previous_time}"
            )
        self.next_seq += 1
        self.previous_hash = chain_hash(entry.raw)
        self.previous_time = entry.stored_at_ns
        return None


# --- The Merkle tree (section 5) ---


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_hash(leaf_hashes):
    """MTH over already hashed leaves."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(tree_hash(leaf_hashes[:k]), tree_hash(leaf_hashes[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 section 2.1.4.2."""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return False  # RFC 9162 defines proofs from non-empty trees only
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --- Tiles (section 7) ---

TILE_WIDTH = 256


def tile_index_path(index):
    digits = f"{index:03d}"
    while len(digits) % 3:
        digits = "0" + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def tile_path(level, index, width=None):
    """`tile/<L>/<N>[.p/<W>]`; level "entries" names an entry bundle."""
    path = f"tile/{level}/{tile_index_path(index)}"
    if width is not None and width != TILE_WIDTH:
        path += f".p/{width}"
    return path


def tiles_of(size):
    """Every hash tile of a tree of `size`: (level, index, width)."""
    tiles = []
    level = 0
    while size >= TILE_WIDTH**level and level < 64:
        count = size // TILE_WIDTH**level
        full, partial = divmod(count, TILE_WIDTH)
        tiles += [(level, n, TILE_WIDTH) for n in range(full)]
        if partial:
            tiles.append((level, full, partial))
        level += 1
        if count < TILE_WIDTH:
            break
    return tiles


def split_bundle(data):
    """The entries of an entry bundle."""
    entries = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise FormatError("entry bundle ends inside a length")
        length = int.from_bytes(data[at : at + 2], "big")
        at += 2
        if at + length > len(data):
            raise FormatError("entry bundle ends inside an entry")
        entries.append(data[at : at + length])
        at += length
    return entries


# --- Signed notes, checkpoints and keys (sections 6 and 10) ---


def b64decode(text):
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"not base64: {text!r}") from None
    if base64.b64encode(data).decode() != text:
        raise FormatError(f"not canonical base64: {text!r}")
    return data


def key_id(name, algorithm, public_key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()[:4]


class NoteKey:
    """A verifier key `<name>+<hex key id>+<base64(algorithm || public key)>`."""

    def __init__(self, text, algorithm):
        parts = text.strip().split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3:
            raise FormatError("a verifier key is <name>+<key id>+<key>")
        name, hex_id, encoded = parts
        if not name or any(c.isspace() for c in name):
            raise FormatError("a key name has no spaces")
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise FormatError("a key id is 8 lower-case hex digits")
        raw = b64decode(encoded)
        if len(raw) != 33 or raw[0] != algorithm:
            raise FormatError(f"the key is not algorithm {algorithm} with 32 bytes")
        self.name = name
        self.public_key = raw[1:]
        self.key_id = bytes.fromhex(hex_id)
        if key_id(name, algorithm, self.public_key) != self.key_id:
            raise FormatError("the key id does not match the name and key")


class Note:
    def __init__(self, body, signatures):
        self.body = body  # bytes, ending in "\n"
        self.signatures = signatures  # [(name, decoded bytes)]


def parse_note(text):
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("the note is not UTF-8") from None
    cut = text.find("\n\n")
    if cut < 0:
        raise FormatError("the note has no empty line before its signatures")
    body, rest = text[: cut + 1], text[cut + 2 :]
    if not rest.endswith("\n"):
        raise FormatError("the note does not end with a newline")
    signatures = []
    for line in rest[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise FormatError(f"not a signature line: {line!r}")
        fields = line[2:].split(" ")
        if len(fields) != 2 or not fields[0]:
            raise FormatError(f"not a signature line: {line!r}")
        raw = b64decode(fields[1])
        if len(raw) < 4:
            raise FormatError(f"signature line too short: {line!r}")
        signatures.append((fields[0], raw))
    return Note(body.encode("utf-8"), signatures)


class Checkpoint:
    def __init__(self, origin, size, root, body):
        self.origin = origin
        self.size = size
        self.root = root
        self.body = body


def parse_checkpoint_body(body):
    lines = body.decode("utf-8").split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise FormatError("a checkpoint body is exactly three lines")
    origin, size, root = lines[:3]
    if not origin or " " in origin or "+" in origin:
        raise FormatError(f"origin {origin!r}: no spaces and no '+'")
    if not re.fullmatch(r"0|[1-9][0-9]*", size) or int(size) >= 1 << 64:
        raise FormatError(f"tree size {size!r} is not a decimal without leading zeros")
    root_hash = b64decode(root)
    if len(root_hash) != 32:
        raise FormatError("the root is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash, body)


def open_checkpoint(text, verifier_key):
    """Verify a checkpoint note with the log's key (section 6); the checkpoint, or FormatError."""
    note = parse_note(text)
    checkpoint = parse_checkpoint_body(note.body)
    mine = [
        raw[4:] for name, raw in note.signatures
        if name == verifier_key.name and raw[:4] == verifier_key.key_id
    ]
    if not mine:
        raise FormatError(f"no signature by {verifier_key.name} with its key id")
    for signature in mine:
        if not ed25519.verify(verifier_key.public_key, note.body, signature):
            raise FormatError(f"the signature of {verifier_key.name} does not verify")
    if checkpoint.origin != verifier_key.name:
        raise FormatError(
            f"origin {checkpoint.origin!r} is not the key's name {verifier_key.name!r}"
        )
    return checkpoint


def cosignature_timestamp(text, witness_key):
    """The timestamp of the witness's verified cosignature on the note (section 10)."""
    note = parse_note(text)
    parse_checkpoint_body(note.body)
    found = None
    for name, raw in note.signatures:
        if name != witness_key.name or raw[:4] != witness_key.key_id:
            continue
        if len(raw) != 4 + 8 + 64:
            raise FormatError("a cosignature is key id, 8-byte time and 64-byte signature")
        timestamp = int.from_bytes(raw[4:12], "big")
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + note.body
        if not ed25519.verify(witness_key.public_key, message, raw[12:]):
            raise FormatError(f"the cosignature of {witness_key.name} does not verify")
        found = timestamp
    if found is None:
        raise FormatError(f"no cosignature by {witness_key.name} with its key id")
    return found
