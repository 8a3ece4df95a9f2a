"""Verifying a live log over HTTP (SPEC section 9)."""

import gzip
import urllib.error
import urllib.request

from .logformat import (
    TILE_WIDTH,
    ChainChecker,
    FormatError,
    decode_entry,
    leaf_hash,
    open_checkpoint,
    split_bundle,
    tile_path,
    tiles_of,
    tree_hash,
)
from .replay import Rejected, Replay


class VerifyFailure(Exception):
    """The log is not valid: the message names the first failure."""


class Fetcher:
    def __init__(self, base_url, timeout=30):
        self.base = base_url.rstrip("/") + "/log/"
        self.timeout = timeout
        self.fetched = 0

    def get(self, path, missing_ok=False):
        request = urllib.request.Request(self.base + path, headers={"Accept-Encoding": "gzip"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
        except urllib.error.HTTPError as error:
            if error.code == 404 and missing_ok:
                return None
            raise VerifyFailure(f"{path}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise VerifyFailure(f"{path}: cannot fetch: {error}") from None
        self.fetched += 1
        return data

    def tile(self, level, index, width):
        """A tile or bundle of `width`; a missing partial one is read from the full tile."""
        data = self.get(tile_path(level, index, width), missing_ok=width < TILE_WIDTH)
        if data is None:
            data = self.get(tile_path(level, index, TILE_WIDTH))
            if level == "entries":
                return b"".join(
                    len(e).to_bytes(2, "big") + e for e in _bundle(data, level, index)[:width]
                )
            return data[: 32 * width]
        return data


def _bundle(data, level, index):
    try:
        return split_bundle(data)
    except FormatError as error:
        raise VerifyFailure(f"{tile_path(level, index)}: {error}") from None


def _hashes(data, path, width):
    if len(data) != 32 * width:
        raise VerifyFailure(f"{path}: {len(data)} bytes, not {width} hashes")
    return [data[i * 32 : (i + 1) * 32] for i in range(width)]


def verify_log(base_url, verifier_key, schema, progress=None):
    """Verify everything a ledger at `base_url` publishes; returns the tree size."""
    fetcher = Fetcher(base_url)
    try:
        checkpoint = open_checkpoint(fetcher.get("checkpoint"), verifier_key)
    except FormatError as error:
        raise VerifyFailure(f"checkpoint: {error}") from None
    size = checkpoint.size
    chain = ChainChecker()
    replay = Replay(schema)
    leaves = []
    for index in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - index * TILE_WIDTH)
        bundle_path = tile_path("entries", index, width)
        entries = _bundle(fetcher.tile("entries", index, width), "entries", index)
        if len(entries) != width:
            raise VerifyFailure(f"{bundle_path}: {len(entries)} entries, not {width}")
        level0_path = tile_path(0, index, width)
        tile = _hashes(fetcher.tile(0, index, width), level0_path, width)
        for position, raw in enumerate(entries):
            seq = index * TILE_WIDTH + position
            _check_entry(seq, raw, chain, replay, tile[position], level0_path)
            leaves.append(leaf_hash(raw))
        if progress:
            progress(len(leaves), size)
    _check_tiles(fetcher, leaves)
    if tree_hash(leaves) != checkpoint.root:
        raise VerifyFailure("the tree of the entries does not have the checkpoint's root")
    if size and replay.genesis["origin"] != checkpoint.origin:
        raise VerifyFailure(
            f"entry 0: genesis names the origin {replay.genesis['origin']!r}, "
            f"the checkpoint {checkpoint.origin!r}"
        )
    return size


def _check_entry(seq, raw, chain, replay, tile_hash, tile_path_):
    """In SPEC section 9's order: the entry's format, its chain link, its leaf hash, replay."""
    try:
        entry = decode_entry(raw)
    except FormatError as error:
        raise VerifyFailure(f"entry {seq}: {error}") from None
    problem = chain.push(entry)
    if problem:
        raise VerifyFailure(f"entry {seq}: chain: {problem}")
    if leaf_hash(raw) != tile_hash:
        raise VerifyFailure(
            f"entry {seq}: its leaf hash is not hash {seq % TILE_WIDTH} of {tile_path_}"
        )
    try:
        replay.accept(entry.envelope, entry.stored_at_ns)
    except Rejected as error:
        where = f" ({error.field})" if error.field else ""
        raise VerifyFailure(f"entry {seq}: {error.code}{where}: {error.message}") from None


def _check_tiles(fetcher, leaves):
    """Every hash tile against the tree recomputed from the entries."""
    levels = [leaves]
    while len(levels[-1]) >= TILE_WIDTH:
        below = levels[-1]
        levels.append(
            [
                tree_hash(below[i : i + TILE_WIDTH])
                for i in range(0, len(below) - TILE_WIDTH + 1, TILE_WIDTH)
            ]
        )
    for level, index, width in tiles_of(len(leaves)):
        if level == 0:
            continue  # checked leaf by leaf while reading the entries
        path = tile_path(level, index, width)
        served = _hashes(fetcher.tile(level, index, width), path, width)
        for position, hash_ in enumerate(served):
            if hash_ != levels[level][index * TILE_WIDTH + position]:
                raise VerifyFailure(f"{path}: hash {position} is not the tree's")
