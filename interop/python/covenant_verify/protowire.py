"""Protocol buffers, read from the wire with a schema parsed from a .proto file.

No generated code and no protobuf library: `Schema.parse` reads the subset of proto3 that
proto/covenant/v1/events.proto uses (messages, enums, `repeated`, `optional`, `oneof`,
`reserved`), and `decode` reads a message's bytes with it. Decoding also checks that the bytes
are the canonical encoding of what they decode to (what a standard proto3 encoder writes), and
reports the first departure as `non_canonical`; bytes that cannot be parsed at all are
`undecodable`.
"""

import re
import struct

VARINT, I64, LEN, START_GROUP, END_GROUP, I32 = 0, 1, 2, 3, 4, 5

VARINT_TYPES = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool"}
I64_TYPES = {"fixed64", "sfixed64", "double"}
I32_TYPES = {"fixed32", "sfixed32", "float"}
SCALARS = VARINT_TYPES | I64_TYPES | I32_TYPES | {"string", "bytes"}


class ProtoError(Exception):
    """A message that is not acceptable: `code` is `undecodable` or `non_canonical`."""

    def __init__(self, code, field, message):
        super().__init__(f"{code} ({field}): {message}")
        self.code = code
        self.field = field
        self.message = message


class Field:
    def __init__(self, name, number, type_name, label, oneof):
        self.name = name
        self.number = number
        self.type_name = type_name
        self.label = label  # "repeated", "optional" or None
        self.oneof = oneof  # the oneof's name, or None
        self.kind = None  # "scalar", "enum" or "message", once resolved

    @property
    def repeated(self):
        return self.label == "repeated"

    @property
    def has_presence(self):
        """Written whenever set, even to its default (explicit presence)."""
        return self.label == "optional" or self.oneof is not None or self.kind == "message"

    def wire_type(self):
        if self.kind == "enum" or self.type_name in VARINT_TYPES:
            return VARINT
        if self.type_name in I64_TYPES:
            return I64
        if self.type_name in I32_TYPES:
            return I32
        return LEN

    @property
    def packable(self):
        return self.repeated and self.wire_type() != LEN

    def default(self):
        if self.repeated:
            return []
        if self.has_presence:
            return None
        if self.kind == "enum":
            return 0
        return {"string": "", "bytes": b"", "bool": False, "double": 0.0, "float": 0.0}.get(
            self.type_name, 0
        )


class Message:
    def __init__(self, name):
        self.name = name
        self.fields = {}  # number -> Field
        self.oneofs = {}  # oneof name -> [field names]

    def field(self, name):
        for field in self.fields.values():
            if field.name == name:
                return field
        raise KeyError(name)


class Schema:
    def __init__(self):
        self.messages = {}
        self.enums = {}  # name -> {number: value name}

    @classmethod
    def parse(cls, text):
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        tokens = re.findall(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_.]*|-?\d+|[{}=;<>,\[\]()]', text)
        schema = cls()
        parser = _Parser(tokens, schema)
        parser.top_level()
        schema._resolve()
        return schema

    def _resolve(self):
        for message in self.messages.values():
            for field in message.fields.values():
                name = field.type_name
                if name in SCALARS:
                    field.kind = "scalar"
                elif _short(name) in self.enums:
                    field.type_name = _short(name)
                    field.kind = "enum"
                elif _short(name) in self.messages:
                    field.type_name = _short(name)
                    field.kind = "message"
                else:
                    raise ValueError(f"{message.name}.{field.name}: unknown type {name}")


def _short(name):
    return name.rsplit(".", 1)[-1]


class _Parser:
    def __init__(self, tokens, schema):
        self.tokens = tokens
        self.at = 0
        self.schema = schema

    def next(self):
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, token):
        found = self.next()
        if found != token:
            raise ValueError(f"expected {token!r}, found {found!r}")

    def skip_statement(self):
        while self.next() != ";":
            pass

    def top_level(self):
        while self.at < len(self.tokens):
            token = self.next()
            if token == "message":
                self.message()
            elif token == "enum":
                self.enum()
            elif token in ("syntax", "package", "import", "option"):
                self.skip_statement()
            else:
                raise ValueError(f"unexpected {token!r} in the schema")

    def enum(self):
        name = self.next()
        values = {}
        self.expect("{")
        while (token := self.next()) != "}":
            if token in ("option", "reserved"):
                self.skip_statement()
                continue
            self.expect("=")
            values[int(self.next())] = token
            self.skip_statement()
        self.schema.enums[name] = values

    def message(self):
        message = Message(self.next())
        self.expect("{")
        self.body(message, oneof=None)
        self.schema.messages[message.name] = message

    def body(self, message, oneof):
        while (token := self.next()) != "}":
            if token in ("reserved", "option"):
                self.skip_statement()
            elif token == "message":
                self.message()
            elif token == "enum":
                self.enum()
            elif token == "oneof":
                name = self.next()
                message.oneofs[name] = []
                self.expect("{")
                self.body(message, oneof=name)
            else:
                label = None
                if token in ("repeated", "optional"):
                    label, token = token, self.next()
                type_name, name = token, self.next()
                self.expect("=")
                number = int(self.next())
                self.skip_statement()
                message.fields[number] = Field(name, number, type_name, label, oneof)
                if oneof:
                    message.oneofs[oneof].append(name)


class _Reader:
    def __init__(self, data, path):
        self.data = data
        self.at = 0
        self.path = path

    def done(self):
        return self.at >= len(self.data)

    def varint(self, what):
        """A varint: (value as unsigned 64-bit, whether its encoding is minimal)."""
        value = shift = 0
        start = self.at
        while True:
            if self.at >= len(self.data):
                raise ProtoError("undecodable", self.path, f"{what}: truncated varint")
            byte = self.data[self.at]
            self.at += 1
            if shift == 63 and byte > 1:
                raise ProtoError("undecodable", self.path, f"{what}: varint over 64 bits")
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        return value, self.at - start == _varint_size(value)

    def take(self, count, what):
        if count > len(self.data) - self.at:
            raise ProtoError("undecodable", self.path, f"{what}: truncated")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk


def _skip_value(reader, wire, path):
    if wire == VARINT:
        reader.varint(path)
    elif wire == I64:
        reader.take(8, path)
    elif wire == I32:
        reader.take(4, path)
    elif wire == LEN:
        length, _ = reader.varint(path)
        reader.take(length, path)
    else:
        raise ProtoError("undecodable", path, f"wire type {wire}")


def _varint_size(value):
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _signed64(raw):
    return raw - (1 << 64) if raw >= 1 << 63 else raw


def _signed32(raw):
    raw &= 0xFFFFFFFF
    return raw - (1 << 32) if raw >= 1 << 31 else raw


def _varint_value(field, raw):
    """The decoded value of a varint field, and whether `raw` is how an encoder writes it."""
    t = "enum" if field.kind == "enum" else field.type_name
    if t in ("int32", "enum"):
        value = _signed32(raw)
        return value, (value & 0xFFFFFFFFFFFFFFFF) == raw
    if t == "int64":
        return _signed64(raw), True
    if t == "uint32":
        return raw & 0xFFFFFFFF, raw < 1 << 32
    if t == "uint64":
        return raw, True
    if t == "sint32":
        raw32 = raw & 0xFFFFFFFF
        return (raw32 >> 1) ^ -(raw32 & 1), raw < 1 << 32
    if t == "sint64":
        return (raw >> 1) ^ -(raw & 1), True
    if t == "bool":
        return raw != 0, raw in (0, 1)
    raise AssertionError(t)


def _fixed_value(field, chunk):
    formats = {
        "fixed64": "<Q",
        "sfixed64": "<q",
        "double": "<d",
        "fixed32": "<I",
        "sfixed32": "<i",
        "float": "<f",
    }
    return struct.unpack(formats[field.type_name], chunk)[0]


def _is_default(field, value):
    if field.kind == "message":
        return False
    if field.type_name in ("double", "float"):
        return value == 0.0  # -0.0 too
    return value in (0, "", b"", False) and not isinstance(value, float)


class Decoded(dict):
    """A decoded message: field name -> value (repeated: list; absent with presence: None)."""

    def __init__(self, message):
        super().__init__()
        self.message_name = message.name
        for field in message.fields.values():
            self[field.name] = field.default()

    def kind(self, oneof):
        """(name, value) of the set member of a oneof, or (None, None)."""
        return self.__dict__.get("oneof_" + oneof, (None, None))


class Decoder:
    """Decodes with a schema; remembers the first canonical-encoding fault it meets."""

    def __init__(self, schema):
        self.schema = schema
        self.fault = None

    def non_canonical(self, path, message):
        if self.fault is None:
            self.fault = ProtoError("non_canonical", path, message)

    def decode(self, message_name, data, path=""):
        message = self.schema.messages[message_name]
        result = Decoded(message)
        reader = _Reader(data, path or message_name)
        last_number = 0
        last_repeated_record = None
        seen = set()
        while not reader.done():
            tag, minimal = reader.varint("tag")
            number, wire = tag >> 3, tag & 7
            if number == 0 or number >= 1 << 29:
                raise ProtoError("undecodable", reader.path, f"field number {number}")
            field = message.fields.get(number)
            name = field.name if field else str(number)
            field_path = f"{path}.{name}" if path else name
            if not minimal:
                self.non_canonical(field_path, "tag not written in its shortest form")
            if field is None:
                self._skip(reader, wire, field_path, number)
                self.non_canonical(field_path, f"unknown field number {number}")
                continue
            if number < last_number or (
                number == last_number and last_repeated_record != number
            ):
                self.non_canonical(field_path, "fields not in increasing field-number order")
            last_number = number
            self._read_field(reader, field, wire, result, field_path)
            repeated_record = field.repeated and not field.packable
            last_repeated_record = number if repeated_record else None
            if field.repeated and field.packable and number in seen:
                self.non_canonical(field_path, "a packed field written in several records")
            seen.add(number)
        self._check_oneofs(message, result, path)
        return result

    def _check_oneofs(self, message, result, path):
        for oneof, members in message.oneofs.items():
            present = [m for m in members if result[m] is not None]
            if present:
                result.__dict__["oneof_" + oneof] = (present[-1], result[present[-1]])

    def _skip(self, reader, wire, path, number):
        """Skip an unknown field's value; a group (proto2's nested encoding) is skipped whole,
        as protobuf parsers do, without recursion however deep it nests."""
        if wire != START_GROUP:
            _skip_value(reader, wire, path)
            return
        open_groups = [number]
        while open_groups:
            if reader.done():
                raise ProtoError("undecodable", path, "a group without its end")
            tag, _ = reader.varint(path)
            inner_wire, inner_number = tag & 7, tag >> 3
            if inner_wire == END_GROUP:
                if inner_number != open_groups.pop():
                    raise ProtoError("undecodable", path, "a group ends with another number")
            elif inner_wire == START_GROUP:
                open_groups.append(inner_number)
            else:
                _skip_value(reader, inner_wire, path)

    def _read_field(self, reader, field, wire, result, path):
        expected = field.wire_type()
        if field.packable and wire == LEN:
            length, minimal = reader.varint(path)
            if not minimal:
                self.non_canonical(path, "length not written in its shortest form")
            chunk = reader.take(length, path)
            if not chunk:
                self.non_canonical(path, "an empty packed field is written")
            inner = _Reader(chunk, path)
            while not inner.done():
                result[field.name].append(self._scalar(inner, field, expected, path))
            return
        if wire != expected:
            raise ProtoError("undecodable", path, f"wire type {wire} for a {field.type_name}")
        if field.packable:
            self.non_canonical(path, "a repeated number not packed")
        if expected == LEN:
            length, minimal = reader.varint(path)
            if not minimal:
                self.non_canonical(path, "length not written in its shortest form")
            chunk = reader.take(length, path)
            value = self._length_delimited(field, chunk, path, result)
        else:
            value = self._scalar(reader, field, expected, path)
        if field.repeated:
            result[field.name].append(value)
            return
        if result[field.name] != field.default() or (
            field.has_presence and result[field.name] is not None
        ):
            self.non_canonical(path, "a field written more than once")
        elif not field.has_presence and _is_default(field, value):
            self.non_canonical(path, "a field equal to its default is written")
        if field.oneof:
            for other in self.schema.messages[result.message_name].oneofs[field.oneof]:
                if other != field.name and result[other] is not None:
                    self.non_canonical(path, f"several members of oneof {field.oneof}")
                    result[other] = None
        result[field.name] = value

    def _scalar(self, reader, field, wire, path):
        if wire == VARINT:
            raw, minimal = reader.varint(path)
            value, canonical = _varint_value(field, raw)
            if not minimal or not canonical:
                self.non_canonical(path, "a number not written as an encoder writes it")
            return value
        return _fixed_value(field, reader.take(8 if wire == I64 else 4, path))

    def _length_delimited(self, field, chunk, path, result):
        if field.kind == "message":
            previous = result[field.name] if not field.repeated else None
            value = self.decode(field.type_name, chunk, path)
            if previous is not None:
                # Protobuf merges a repeated singular message; canonical bytes never repeat it.
                return previous
            return value
        if field.type_name == "string":
            try:
                return chunk.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtoError("undecodable", path, "a string that is not UTF-8") from None
        return chunk


def decode(schema, message_name, data, path=""):
    """Decode `data`; raise ProtoError (undecodable first, then non_canonical)."""
    decoder = Decoder(schema)
    result = decoder.decode(message_name, data, path)
    if decoder.fault:
        raise decoder.fault
    return result
