"""The field rules of SPEC section 8.3: what every field of a decoded envelope must hold."""

import math
import re

from .currencies import CURRENCIES

MAX_OCCURRED_AT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
THEME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
HOST = re.compile(r"[A-Za-z0-9.-]+")
WHITE_SPACE = set(
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
URL_FORBIDDEN = set(' "<>\\^`{|}')

COMPARATOR_WORDS = {"at_least", "at_most", "exactly", "between"}
# AmendedField numbers each AmendmentClass may change (SPEC 8.3's table).
TEXT, DUE_BY, TARGET_VALUE, TARGET_PERIOD, SCOPE, TITLE, COMPARATOR = 1, 2, 3, 4, 5, 6, 7
ALLOWED_BY_CLASS = {
    1: {TEXT, TITLE},
    2: {TEXT, TITLE, SCOPE},
    3: {SCOPE, TEXT, TITLE},
    4: {TARGET_VALUE, TARGET_PERIOD, COMPARATOR, TEXT, TITLE},
    5: {DUE_BY, TEXT, TITLE},
    6: {TEXT, DUE_BY, TARGET_VALUE, TARGET_PERIOD, SCOPE, TITLE, COMPARATOR},
}
INDICATOR_FIELDS = {TARGET_VALUE, TARGET_PERIOD, COMPARATOR}
BETWEEN = 4


class FieldError(Exception):
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_id(value):
    return bool(ID.fullmatch(value))


def is_event_id(value):
    return bool(ULID.fullmatch(value) or UUID7.fullmatch(value))


def is_date(value):
    match = DATE.fullmatch(value)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    if not 1900 <= year <= 9999 or not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return 1 <= day <= days


def is_blank(value):
    return all(c in WHITE_SPACE for c in value)


def is_url(value):
    if len(value.encode("utf-8")) > 2048:
        return False
    for scheme in ("http://", "https://"):
        if value.startswith(scheme):
            rest = value[len(scheme) :]
            break
    else:
        return False
    end = len(rest)
    for i, c in enumerate(rest):
        if c in ":/?#":
            end = i
            break
    host, rest = rest[:end], rest[end:]
    if not HOST.fullmatch(host) or len(host) > 253 or ".." in host:
        return False
    if host[0] in ".-" or host[-1] in ".-" or ("." not in host and host != "localhost"):
        return False
    if rest.startswith(":"):
        match = re.match(r":([0-9]{1,5})", rest)
        if not match:
            return False
        rest = rest[match.end() :]
    if not rest:
        return True
    if rest[0] not in "/?#":
        return False
    return all(0x21 <= ord(c) <= 0x7E and c not in URL_FORBIDDEN for c in rest)


class Checker:
    """Checks one decoded envelope; raises FieldError naming the first offending field."""

    def __init__(self, schema):
        self.schema = schema

    def defined(self, enum_name, value):
        return value in self.schema.enums[enum_name]

    # --- general rules ---

    def id(self, path, value):
        if not is_id(value):
            raise FieldError(path, f"{value!r} is not an id of 1-128 characters [A-Za-z0-9._:/-]")

    def event_id(self, path, value):
        if not is_event_id(value):
            raise FieldError(path, f"{value!r} is neither a ULID nor a UUIDv7")

    def date(self, path, value):
        if not is_date(value):
            raise FieldError(path, f"{value!r} is not a YYYY-MM-DD date from 1900 to 9999")

    def optional_date(self, path, value):
        if value:
            self.date(path, value)

    def text(self, path, value):
        if is_blank(value):
            raise FieldError(path, "blank text")

    def finite(self, path, value):
        if value is not None and not math.isfinite(value):
            raise FieldError(path, f"{value} is not a finite number")

    def required_enum(self, path, enum_name, value):
        if value == 0 or not self.defined(enum_name, value):
            raise FieldError(path, f"{value} is not a defined {enum_name}")

    def optional_enum(self, path, enum_name, value):
        if value != 0 and not self.defined(enum_name, value):
            raise FieldError(path, f"{value} is not a defined {enum_name}")

    def url(self, path, value):
        if not is_url(value):
            raise FieldError(path, f"{value!r} is not an http(s) URL")

    def distinct_ids(self, path, values):
        for n, value in enumerate(values):
            self.id(f"{path}[{n}]", value)
            if value in values[:n]:
                raise FieldError(f"{path}[{n}]", f"{value!r} is repeated")

    def source(self, path, source):
        self.required_enum(f"{path}.kind", "SourceKind", source["kind"])
        if source["url"]:
            self.url(f"{path}.url", source["url"])

    def sources(self, path, sources):
        for n, source in enumerate(sources):
            self.source(f"{path}[{n}]", source)

    def links(self, path, links):
        for n, link in enumerate(links):
            self.url(f"{path}[{n}].url", link["url"])
            self.optional_enum(f"{path}[{n}].kind", "SourceKind", link["kind"])

    # --- the envelope ---

    def envelope(self, envelope, kind, value):
        if kind == "genesis":
            if envelope["event_id"] != "genesis":
                raise FieldError("event_id", "a genesis envelope's event_id is 'genesis'")
            self.id("actor", envelope["actor"])
            if envelope["actor"] != value["registrar_actor"]:
                raise FieldError("actor", "genesis is spoken by its registrar actor (SPEC 8.1)")
            if envelope["occurred_at_ms"] != 0:
                raise FieldError("occurred_at_ms", "a genesis envelope's time is 0")
            if envelope["key_id"]:
                raise FieldError("key_id", "a genesis envelope has no key_id")
            if envelope["signature"]:
                raise FieldError("signature", "a genesis envelope has no signature")
            return
        self.event_id("event_id", envelope["event_id"])
        self.id("actor", envelope["actor"])
        if not 0 <= envelope["occurred_at_ms"] <= MAX_OCCURRED_AT_MS:
            raise FieldError("occurred_at_ms", "not from 1970 to the end of 9999")
        self.id("key_id", envelope["key_id"])
        if len(envelope["signature"]) != 64:
            raise FieldError("signature", "not 64 bytes")

    def body(self, kind, value):
        getattr(self, "kind_" + kind)(kind, value)

    # --- per kind ---

    def kind_genesis(self, p, g):
        self.text(f"{p}.origin", g["origin"])
        self.id(f"{p}.registrar_actor", g["registrar_actor"])
        if not g["registrars"]:
            raise FieldError(f"{p}.registrars", "no registrar key")
        for n, registrar in enumerate(g["registrars"]):
            self.id(f"{p}.registrars[{n}].key_id", registrar["key_id"])
            if len(registrar["public_key"]) != 32:
                raise FieldError(f"{p}.registrars[{n}].public_key", "not 32 bytes")

    def kind_actor_registered(self, p, a):
        self.id(f"{p}.actor_id", a["actor_id"])
        self.text(f"{p}.name", a["name"])
        self.required_enum(f"{p}.kind", "ActorKind", a["kind"])
        if a["url"]:
            self.url(f"{p}.url", a["url"])

    def kind_key_granted(self, p, k):
        self.id(f"{p}.key_id", k["key_id"])
        if len(k["public_key"]) != 32:
            raise FieldError(f"{p}.public_key", "not 32 bytes")
        self.id(f"{p}.actor_id", k["actor_id"])
        if not k["roles"]:
            raise FieldError(f"{p}.roles", "no role")
        for n, role in enumerate(k["roles"]):
            self.required_enum(f"{p}.roles[{n}]", "KeyRole", role)

    def kind_key_revoked(self, p, k):
        self.id(f"{p}.key_id", k["key_id"])

    def kind_actor_succeeded(self, p, s):
        self.id(f"{p}.predecessor_id", s["predecessor_id"])
        self.id(f"{p}.successor_id", s["successor_id"])
        if s["predecessor_id"] == s["successor_id"]:
            raise FieldError(f"{p}.successor_id", "the same as the predecessor")
        self.required_enum(f"{p}.kind", "SuccessionKind", s["kind"])
        self.date(f"{p}.effective_on", s["effective_on"])
        for n, commitment_id in enumerate(s["commitment_ids"]):
            self.id(f"{p}.commitment_ids[{n}]", commitment_id)

    def kind_commitment_made(self, p, c):
        self.id(f"{p}.commitment_id", c["commitment_id"])
        self.text(f"{p}.title", c["title"])
        self.text(f"{p}.text", c["text"])
        self.date(f"{p}.made_on", c["made_on"])
        if c["due_by"]:
            self.date(f"{p}.due_by", c["due_by"])
            if c["due_by"] < c["made_on"]:  # same fixed-width form: text order is date order
                raise FieldError(f"{p}.due_by", "before made_on")
        for n, theme in enumerate(c["themes"]):
            if len(theme) > 64 or not THEME.fullmatch(theme):
                raise FieldError(f"{p}.themes[{n}]", f"{theme!r} is not a lower-case theme")
        if c["source"] is not None:
            self.source(f"{p}.source", c["source"])
        self.sources(f"{p}.sources", c["sources"])
        self.links(f"{p}.evidence", c["evidence"])
        self.distinct_ids(f"{p}.delivery_partners", c["delivery_partners"])
        if c["indicator"] is not None and c["indicators"]:
            raise FieldError(f"{p}.indicator", "both the legacy indicator and indicators")
        if c["indicator"] is not None:
            self.legacy_indicator(f"{p}.indicator", c["indicator"])
        seen = set()
        for n, indicator in enumerate(c["indicators"]):
            path = f"{p}.indicators[{n}]"
            self.indicator(path, indicator)
            if indicator["indicator_id"] in seen:
                raise FieldError(f"{path}.indicator_id", "repeated within the commitment")
            seen.add(indicator["indicator_id"])
            self.upper(path, indicator)

    def numbers_and_dates(self, p, i):
        self.finite(f"{p}.baseline_value", i["baseline_value"])
        self.finite(f"{p}.target_value", i["target_value"])
        self.finite(f"{p}.target_upper", i["target_upper"])
        self.optional_date(f"{p}.baseline_date", i["baseline_date"])
        self.optional_date(f"{p}.deadline", i["deadline"])

    def legacy_indicator(self, p, i):
        self.text(f"{p}.measure", i["measure"])
        self.numbers_and_dates(p, i)
        self.optional_enum(f"{p}.comparator", "Comparator", i["comparator"])
        self.upper(p, i)

    def upper(self, p, i):
        upper = i["target_upper"]
        if i["comparator"] == BETWEEN:
            if upper is None:
                raise FieldError(f"{p}.target_upper", "required for BETWEEN")
            if i["target_value"] is not None and upper < i["target_value"]:
                raise FieldError(f"{p}.target_upper", "below target_value")
        elif upper is not None:
            raise FieldError(f"{p}.target_upper", "only for BETWEEN")

    def indicator(self, p, i):
        self.text(f"{p}.measure", i["measure"])
        self.numbers_and_dates(p, i)
        self.id(f"{p}.indicator_id", i["indicator_id"])
        self.required_enum(f"{p}.comparator", "Comparator", i["comparator"])
        if i["target_value"] is None:
            raise FieldError(f"{p}.target_value", "required")

    def kind_commitment_amended(self, p, a):
        self.id(f"{p}.commitment_id", a["commitment_id"])
        self.required_enum(f"{p}.class", "AmendmentClass", a["class"])
        self.text(f"{p}.rationale", a["rationale"])
        if not a["changes"]:
            raise FieldError(f"{p}.changes", "no change")
        self.optional_date(f"{p}.effective_on", a["effective_on"])
        self.sources(f"{p}.sources", a["sources"])
        seen = set()
        for n, change in enumerate(a["changes"]):
            path = f"{p}.changes[{n}]"
            self.change(path, a["class"], change, seen)

    def change(self, p, amendment_class, change, seen):
        field = change["field"]
        self.required_enum(f"{p}.field", "AmendedField", field)
        if field not in ALLOWED_BY_CLASS.get(amendment_class, set()):
            raise FieldError(f"{p}.field", "not allowed by the amendment's class")
        if change["indicator_id"]:
            if field not in INDICATOR_FIELDS:
                raise FieldError(f"{p}.indicator_id", "only for target changes")
            self.id(f"{p}.indicator_id", change["indicator_id"])
        key = (field, change["indicator_id"])
        if key in seen:
            raise FieldError(f"{p}.field", "the same field as an earlier change")
        seen.add(key)
        value = change["new_value"]
        if field == DUE_BY:
            self.date(f"{p}.new_value", value)
        elif field == TARGET_VALUE:
            if len(value) > 32 or not DECIMAL.fullmatch(value):
                raise FieldError(f"{p}.new_value", f"{value!r} is not a number written as text")
        elif field == COMPARATOR:
            if value not in COMPARATOR_WORDS:
                raise FieldError(f"{p}.new_value", f"{value!r} is not a comparator")
        else:
            self.text(f"{p}.new_value", value)

    def kind_commitment_withdrawn(self, p, w):
        self.id(f"{p}.commitment_id", w["commitment_id"])
        self.text(f"{p}.reason", w["reason"])

    def kind_action_recorded(self, p, a):
        self.id(f"{p}.action_id", a["action_id"])
        if not a["commitment_ids"]:
            raise FieldError(f"{p}.commitment_ids", "no commitment")
        self.distinct_ids(f"{p}.commitment_ids", a["commitment_ids"])
        self.required_enum(f"{p}.type", "ActionType", a["type"])
        self.date(f"{p}.taken_on", a["taken_on"])
        self.text(f"{p}.description", a["description"])
        money = a["money"]
        if money is not None:
            if money["amount_minor"] < 0:
                raise FieldError(f"{p}.money.amount_minor", "negative")
            if money["currency"] not in CURRENCIES:
                raise FieldError(f"{p}.money.currency", f"{money['currency']!r} is not ISO 4217")
            self.required_enum(f"{p}.money.stage", "MoneyStage", money["stage"])
        self.links(f"{p}.evidence", a["evidence"])

    def kind_outcome_reported(self, p, o):
        self.id(f"{p}.commitment_id", o["commitment_id"])
        self.required_enum(f"{p}.verdict", "Verdict", o["verdict"])
        self.date(f"{p}.reported_on", o["reported_on"])
        self.finite(f"{p}.indicator_actual", o["indicator_actual"])
        self.links(f"{p}.evidence", o["evidence"])
        for n, m in enumerate(o["measurements"]):
            self.id(f"{p}.measurements[{n}].indicator_id", m["indicator_id"])
            self.finite(f"{p}.measurements[{n}].value", m["value"])
            self.date(f"{p}.measurements[{n}].measured_on", m["measured_on"])

    def kind_assessment_published(self, p, a):
        self.id(f"{p}.commitment_id", a["commitment_id"])
        if a["outcome_event_id"]:
            self.event_id(f"{p}.outcome_event_id", a["outcome_event_id"])
        self.required_enum(f"{p}.stance", "Stance", a["stance"])
        self.optional_enum(f"{p}.assessed_verdict", "Verdict", a["assessed_verdict"])
        self.text(f"{p}.summary", a["summary"])
        self.links(f"{p}.evidence", a["evidence"])

    def kind_retraction(self, p, r):
        self.event_id(f"{p}.event_id", r["event_id"])
        self.text(f"{p}.reason", r["reason"])

    def kind_commitment_adopted(self, p, a):
        self.id(f"{p}.commitment_id", a["commitment_id"])
        self.date(f"{p}.adopted_on", a["adopted_on"])
