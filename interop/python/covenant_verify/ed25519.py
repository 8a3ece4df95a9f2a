"""Ed25519 signature verification under ZIP-215 (SPEC section 2.1), in pure Python.

ZIP-215 differs from strict RFC 8032 verification in three ways, all of which make every
verifier agree on every signature:

- the encodings of A (the public key) and R may be non-canonical: a y coordinate at or above
  the field prime is taken modulo the prime, and a "negative zero" x (x = 0 with the sign bit
  set) is accepted;
- S must be canonical: an S at or above the group order L is refused;
- the equation is the cofactored one, [8][S]B = [8]R + [8][k]A, where
  k = SHA-512(R bytes || A bytes || message) mod L over the bytes as given (never re-encoded).
"""

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

# Points are extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
IDENTITY = (0, 1, 1, 0)


def _add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * D * t1 * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(p):
    x1, y1, z1, _ = p
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _negate(p):
    x, y, z, t = p
    return (-x % P, y, z, -t % P)


def _multiply(scalar, point):
    result = IDENTITY
    for bit in bin(scalar)[2:] if scalar else "":
        result = _double(result)
        if bit == "1":
            result = _add(result, point)
    return result


def _is_identity(p):
    x, y, z, _ = p
    return x % P == 0 and (y - z) % P == 0


def _decompress(encoding):
    """The point of a 32-byte encoding under ZIP-215's rules, or None when there is none."""
    if len(encoding) != 32:
        return None
    value = int.from_bytes(encoding, "little")
    sign = value >> 255
    y = (value & ((1 << 255) - 1)) % P
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    # x = sqrt(u / v) = u v^3 (u v^7)^((p - 5) / 8), times sqrt(-1) if needed.
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    check = v * x * x % P
    if check == u:
        pass
    elif check == (-u) % P:
        x = x * SQRT_M1 % P
    else:
        return None
    if x & 1 != sign:
        x = (-x) % P  # x = 0 stays 0: ZIP-215 accepts the "negative zero" encoding
    return (x, y, 1, x * y % P)


_BASE_Y = 4 * pow(5, P - 2, P) % P
BASE = _decompress(_BASE_Y.to_bytes(32, "little"))


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is a valid ZIP-215 signature of `message` by `public_key`."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % L
    # [S]B - [k]A - R, multiplied by the cofactor 8, must be the identity.
    difference = _add(_add(_multiply(s, BASE), _negate(_multiply(k, a))), _negate(r))
    for _ in range(3):
        difference = _double(difference)
    return _is_identity(difference)
