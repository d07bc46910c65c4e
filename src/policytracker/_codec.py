"""The codec: the one place that knows how an event is stored.

The stored form of an event is its canonical JSON object: its ``type`` tag, its schema ``version``, its
``event_id`` and every field not at its default (``Decimal`` as a plain decimal string, dates as EDTF
strings, UUIDs hyphenated, enums by value, tuples as arrays, frozensets as sorted arrays, nested attrs
values as objects). For each event class, built-in or a user's own, :func:`codec_for` generates once,
from the class's attrs fields and their type hints:

- the **encoder**: the event's canonical object without the three header keys (also what its
  content-derived id is computed from);
- the **decoder**: the event from its stored object, as strict as the class itself. Each value's JSON
  shape is checked, then the field's own converter and validators run; the event is built by setting the
  slots ``attrs`` would set, so its id is taken as stored rather than derived again. Converters of
  policytracker's own fields are pure, so their results for a string are memoised; a validator of
  ``_validation`` is skipped when a cheap test proves it would pass;
- the **index**: what stores keep beside the stored text to answer reads (:class:`Index`).

Generated source is registered with ``linecache`` as ``<policytracker codec TAG>``, so tracebacks and
debuggers show it.

Why the codec stands beside cattrs rather than on its code generation: cattrs' generated structuring
functions end in ``cls(**kwargs)``, so the class's ``__init__`` runs every converter again (nothing is
memoised) and takes the stored id as a given one, which ``attrs.evolve`` would then keep. Setting the slots
directly decodes a stored purchase several times faster (``benchmarks/codec_vs_cattrs.py`` measures both).
cattrs stays what it is good at: the public, strict converter of ``make_converter()``, whose event hooks
are this codec.
"""

from __future__ import annotations

import enum
import linecache
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

import attrs

from policytracker import _validation as v
from policytracker._canonical import canonical_json, loads, read_uuid, uuid5
from policytracker._dates import FuzzyDate, day_ordinals
from policytracker.exceptions import SerializationError, ValidationError

__all__ = [
    "CLASSES",
    "FROM_STORAGE",
    "UNCHANGING_VALUES",
    "UPCASTERS",
    "EncodedOnce",
    "Index",
    "Upcaster",
    "codec_for",
    "decode_event",
    "decode_text",
    "defer_given_id",
    "derive_event_id",
    "encode_event",
    "encode_value",
    "event_text",
    "event_text_and_id",
    "identify",
    "index_event",
    "stored_form",
    "valid_time_columns",
]

#: An upcaster turns the fields of a stored event of version ``n`` into those of version ``n + 1``.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

#: Every registered event class by its type tag, and the upcasters of each tag (filled by ``event_type``).
CLASSES: dict[str, type] = {}
UPCASTERS: dict[str, Mapping[int, Upcaster]] = {}

_MISSING = object()
_MEMO_LIMIT = 65536
_HEADER = ("type", "version", "event_id")
#: A cheap test per validator: when it holds, the validator would pass, so it need not run.
_PASSES = {
    v.text: "{x}.__class__ is str and {x}.isascii()",
    v.non_empty_text: "{x}.__class__ is str and {x}.isascii() and {x}.strip()",
    v.optional_text: "{x} is None or ({x}.__class__ is str and {x}.isascii() and {x}.strip())",
    v.strict_bool: "{x}.__class__ is bool",
    v.positive_int: "{x}.__class__ is int and {x} > 0",
}


class Index(NamedTuple):
    """What a store keeps beside a stored event to answer reads without decoding it: the type ``tag``, the
    ``event_id``, the ``countries`` it belongs to (a retraction's or correction's include its target's),
    the amended ``target`` (None for a standalone event) and its ``valid_time`` columns."""

    tag: str
    event_id: uuid.UUID
    countries: tuple[str, ...]
    target: uuid.UUID | None
    valid_time: tuple[int, int, int]


def valid_time_columns(event: Any) -> tuple[int, int, int]:
    """The first three parts of the valid-time order: the ordinals of the earliest and latest day, and the
    rank (``__valid_time_rank__`` of the class: a holdings report is the end-of-day snapshot, so it ranks
    after purchases and sales). The event id breaks the remaining ties."""
    earliest, latest = day_ordinals(event.occurred)
    return earliest, latest, type(event).__valid_time_rank__


# --- stored-id provenance ---------------------------------------------------------------------------------


class _FromStorage:
    __slots__ = ()

    def __repr__(self) -> str:
        return "FROM_STORAGE"


#: What a decoded event holds as its given id until something asks whether it was given.
FROM_STORAGE: Any = _FromStorage()


class _GivenId:
    """The ``_given_event_id`` attribute of every event: its slot, read through one check.

    A decoded event holds :data:`FROM_STORAGE` there. Whether its stored id was derived or given matters
    only to ``attrs.evolve`` (and pickle and copy, which read every slot), so it is decided on that first
    read, from the event itself, and kept: None when the stored id is the one its content derives (an
    evolved copy derives its own), else the stored id.
    """

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = self.slot.__get__(instance, owner)
        if value is FROM_STORAGE:
            value = None if derive_event_id(instance) == instance.event_id else instance.event_id
            self.slot.__set__(instance, value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        self.slot.__set__(instance, value)


def defer_given_id(base: type) -> None:
    """Read *base*'s ``_given_event_id`` slot through :class:`_GivenId` (called once, for ``Event``)."""
    base._given_event_id = _GivenId(vars(base)["_given_event_id"])  # type: ignore[attr-defined]


# --- the generator ------------------------------------------------------------------------------------------


@attrs.frozen
class ClassCodec:
    """The generated encoder, decoder and index of one class (``tag`` is None for a nested value class).

    The encoder and the decoder are each compiled when first used: a process that only reads a log never
    compiles an encoder, one that only writes never compiles a decoder. ``unchanging``: whether an event
    of the class keeps, once made, the content it was made with (see :class:`EncodedOnce`).
    """

    cls: type
    tag: str | None
    version: int
    index: Callable[[Any, tuple[str, ...]], Index]
    unchanging: bool
    _generator: _Generator = attrs.field(repr=False)
    _compiled: dict[str, Callable[..., Any]] = attrs.field(factory=dict, repr=False)

    @property
    def encode(self) -> Callable[[Any], dict[str, Any]]:
        """The encoder: an event's canonical object without its header keys."""
        return self._function("encode")

    @property
    def encode_kept(self) -> Callable[[Any], tuple[dict[str, Any], tuple[Any, ...]]]:
        """The encoder that also returns the field values it encoded, in field order."""
        return self._function("encode_kept")

    @property
    def values(self) -> Callable[[Any], tuple[Any, ...]]:
        """An event's field values, as ``encode_kept`` returns them."""
        return self._function("values")

    @property
    def decode(self) -> Callable[[dict[str, Any], uuid.UUID | None], Any]:
        """The decoder: the event stored as an object, with the stored id (None: derive it)."""
        return self._function("decode")

    def _function(self, kind: str) -> Callable[..., Any]:
        found = self._compiled.get(kind)
        if found is None:
            found = self._compiled[kind] = self._generator.compile(kind)
        return found


_CODECS: dict[type, ClassCodec] = {}


def codec_for(cls: type) -> ClassCodec:
    """The codec of the attrs class *cls*, generated on first use."""
    found = _CODECS.get(cls)
    if found is None:
        found = _CODECS[cls] = _Generator(cls).codec()
    return found


def _is_event_class(cls: Any) -> bool:
    # The event base class only annotates __event_tag__; registered subclasses also set it.
    return isinstance(cls, type) and any(
        "__event_tag__" in vars(klass).get("__annotations__", {}) for klass in cls.__mro__
    )


class _Generator:
    """Writes the source of one class's encoder and decoder, field by field, and compiles it."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.tag: str | None = cls.__dict__.get("__event_tag__")
        self.names: dict[str, Any] = {
            "_cls": cls,
            "_MISSING": _MISSING,
            "_new": object.__new__,
            "_SerializationError": SerializationError,
            "_Refused": (ValidationError, ValueError, TypeError),
            "_refused": _refused,
            "_missing": _missing,
            "_shape": _shape,
            "_nested": _nested,
            "_FROM_STORAGE": FROM_STORAGE,
            "_encode_value": encode_value,
        }
        try:
            self.hints = typing.get_type_hints(cls)
        except Exception:  # unresolvable annotations: encoded by value; decoding them is refused
            self.hints = {}
        self.fields = [f for f in attrs.fields(cls) if f.init and f.alias != "event_id"]
        # An event is built slot by slot unless it needs its own __init__ (factories, derived fields, a
        # pre-init hook); a nested value class (a Source) always goes through its __init__.
        self.direct = (
            self.tag is not None
            and not hasattr(cls, "__attrs_pre_init__")
            and not any(isinstance(f.default, attrs.Factory) for f in self.fields)  # type: ignore[arg-type]
            and all(f.init or f.name == "event_id" for f in attrs.fields(cls))
        )
        base = next((k for k in reversed(cls.__mro__) if "_given_event_id" in vars(k)), object)
        own = getattr(cls, "__attrs_post_init__", None)
        self.post_init = own is not None and own is not getattr(base, "__attrs_post_init__", None)

    def codec(self) -> ClassCodec:
        version = getattr(self.cls, "__event_version__", 1)
        return ClassCodec(self.cls, self.tag, version, self.index(), self.unchanging(), self)

    def unchanging(self) -> bool:
        """Whether the content of an instance is settled once its ``__init__`` has run: no
        ``__attrs_post_init__`` of the class's own (it may change a field after the id is derived), and
        every field of a type whose values cannot change."""
        return not self.post_init and all(
            _unchanging(self.hints.get(field.name)) for field in attrs.fields(self.cls)
        )

    def compile(self, kind: str) -> Callable[..., Any]:
        """Write, register with ``linecache`` and compile the ``"encode"``, ``"encode_kept"``, ``"values"``
        or ``"decode"`` function."""
        name = self.tag or f"{self.cls.__module__}.{self.cls.__qualname__}"
        lines = {"decode": self.decoder, "values": self.values}.get(kind, lambda: self.encoder(kind))()
        source = "\n".join(lines) + "\n"
        filename = f"<policytracker codec {name}>" if kind == "decode" else f"<policytracker {kind} {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), self.names)
        function: Callable[..., Any] = self.names[kind]
        return function

    # -- the encoder ---------------------------------------------------------------------------------------

    def encoder(self, kind: str = "encode") -> list[str]:
        """``encode(event)``, the event's canonical object; or ``encode_kept(event)``, that object and the
        field values it was encoded from, in field order."""
        lines = [f"def {kind}(event):", "    out = {}"]
        for n, field in enumerate(self.fields):
            x = f"x{n}"
            lines.append(f"    {x} = event.{field.name}")
            indent = "    "
            if field.default is not attrs.NOTHING:
                self.names[f"d{n}"] = field.default
                same = f"{x} is d{n} or ({x}.__class__ is d{n}.__class__ and {x} == d{n})"
                lines.append(f"    if not ({same}):")
                indent = "        "
            value = self.encoded(x, self.hints.get(field.name), n, field.name)
            lines.append(f"{indent}out[{field.name!r}] = {value}")
        if kind == "encode_kept":
            lines.append(f"    return out, ({''.join(f'x{n}, ' for n in range(len(self.fields)))})")
        else:
            lines.append("    return out")
        return lines

    def values(self) -> list[str]:
        """``values(event)``: the field values ``encode_kept`` returns, read again."""
        read = "".join(f"event.{field.name}, " for field in self.fields)
        return ["def values(event):", f"    return ({read})"]

    def encoded(self, x: str, hint: Any, n: int, name: str = "") -> str:
        """The expression encoding the value *x* of type *hint*."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint in (str, int, bool):
            # What the decoder will accept back, checked here: a user's field without a validator of its
            # own takes anything (True for an int, say), and a log must never hold what it cannot read.
            self.names["_not_json"] = _not_json
            kind = hint.__name__
            exact = f"{x}.__class__ is {kind}"
            if hint is str:  # a subclass of str is written as the string it is
                exact += f" or isinstance({x}, str)"
            elif hint is int:  # of int too, but for bool, a subclass JSON writes as true or false
                exact += f" or (isinstance({x}, int) and {x}.__class__ is not bool)"
            return f"({x} if {exact} else _not_json({x}, {kind}, {name!r}))"
        if hint is FuzzyDate or hint is uuid.UUID:
            return f"str({x})"
        if hint is Decimal:
            self.names["_decimal_text"] = _decimal_text
            return f"_decimal_text({x}, {name!r})"
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return f"{x}.value"
        if _optional(hint):
            return f"None if {x} is None else {self.encoded(x, _optional(hint), n, name)}"
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = self.encoded("i", args[0], n, name)
            return f"list({x})" if item == "i" else f"[{item} for i in {x}]"
        if _is_event_class(hint):
            self.names["_encode_event"] = encode_event
            return f"_encode_event({x})"
        if isinstance(hint, type) and attrs.has(hint):
            self.names[f"e{n}"] = codec_for(hint).encode
            return f"e{n}({x})"
        return f"_encode_value({x})"

    # -- the decoder ---------------------------------------------------------------------------------------

    def decoder(self) -> list[str]:
        known = {field.name for field in self.fields} | (set(_HEADER) if self.tag else set())
        self.names["_extra"] = _extra_fields(self.cls, known)
        self.names["_known"] = frozenset(known)
        lines = ["def decode(obj, uid=None):", "    if not _known.issuperset(obj):", "        _extra(obj)"]
        lines += ["    get = obj.get", "    try:"]
        body = ["self = _new(_cls)"] if self.direct else ["kwargs = {}"]
        checks: list[str] = []
        for n, field in enumerate(self.fields):
            body += self.read_field(n, field)
            if self.direct:
                self.names[f"s{n}"] = _slot_setter(self.cls, field.name)
                body.append(f"s{n}(self, x{n})")
                checks += self.validate(n, field)
        body += checks + self.finish()
        lines += ["        " + line for line in body]
        lines += [
            "    except _Refused as exc:",
            "        raise _refused(_cls, exc) from exc",
            "    return self",
        ]
        return lines

    def read_field(self, n: int, field: Any) -> list[str]:
        """Lines reading field *field* of the stored object into ``x{n}`` (direct), or into ``kwargs``."""
        x = f"x{n}"
        lines = [f"{x} = get({field.name!r}, _MISSING)", f"if {x} is _MISSING:"]
        if field.default is attrs.NOTHING:
            lines.append(f"    _missing(_cls, {field.name!r})")
        elif self.direct:
            converter = field.converter
            self.names[f"d{n}"] = converter(field.default) if callable(converter) else field.default
            lines.append(f"    {x} = d{n}")
        else:
            lines.append("    pass")
        lines.append("else:")
        hint = self.hints.get(field.name, _MISSING)
        inner = _optional(hint)
        converter = field.converter if self.direct and callable(field.converter) else None
        check, kind = self.check(x, n, inner or hint, field.name, converter if not inner else None)
        if not callable(field.converter):  # the value's own type reads its text
            check += self.parsed(x, n, inner or hint, field.name)
        if inner:
            check = [f"if {x} is not None:", *("    " + line for line in check)] if check else []
        if converter is not None and kind != "converted":
            check += self.converted(x, n, converter, memoise=kind == "scalar" and not inner)
        elif not self.direct:
            check.append(f"kwargs[{field.alias!r}] = {x}")
        return lines + ["    " + line for line in check or ["pass"]]

    def check(self, x: str, n: int, hint: Any, name: str, converter: Any = None) -> tuple[list[str], str]:
        """Lines checking the JSON shape of *x* for a field of type *hint* (decoding nested objects), and
        what the value then is: a JSON ``"scalar"``, a ``"value"``, or (for nested values, which are
        memoised with the field's pure *converter* applied) ``"converted"``."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            lines = self.shape(x, "list", name, "a list")
            if isinstance(args[0], type) and attrs.has(args[0]) and not _is_event_class(args[0]):
                fold = converter if converter is not None and _pure(converter) else None
                self.names[f"i{n}"] = _nested_values(args[0], name, convert=fold)
                return [*lines, f"{x} = i{n}({x})"], "converted" if fold else "value"
            if args[0] is str:
                test = f"if not all(i.__class__ is str for i in {x}):"
                shape = f"    _shape(_cls, {name!r}, 'a list of strings', {x})"
                return [*lines, test, shape, f"{x} = tuple({x})"], "value"
        elif _is_event_class(hint):
            self.names["_decode_nested"] = _decode
            return [
                "try:",
                f"    {x} = _decode_nested({x})",
                "except _SerializationError as exc:",
                f"    _nested(_cls, {name!r}, exc)",
            ], "value"
        elif hint is bool:
            return self.shape(x, "bool", name, "true or false"), "scalar"
        elif hint is int:
            return self.shape(x, "int", name, "a whole number"), "scalar"
        elif hint is Decimal:
            return self.shape(x, "str", name, 'a decimal number as a string such as "6238"'), "scalar"
        elif hint in (str, FuzzyDate, uuid.UUID) or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
            return self.shape(x, "str", name, "a string"), "scalar"
        elif isinstance(hint, type) and attrs.has(hint):
            self.names[f"i{n}"] = _nested_values(hint, name, single=True)
            return [f"{x} = i{n}({x})"], "value"
        message = f"field {name!r}: no decoder for fields of type {hint!r}"
        return [f"raise _SerializationError({message!r})"], "value"

    def parsed(self, x: str, n: int, hint: Any, name: str) -> list[str]:
        """Lines turning the text *x* into a value of *hint* (a ``Decimal``, ``FuzzyDate``, ``UUID`` or
        enum), for a field without a converter that would."""
        parse = _TEXT_PARSERS.get(hint)
        if parse is None and isinstance(hint, type) and issubclass(hint, enum.Enum):
            parse = _enum_parser(hint)
        if parse is None:
            return []
        self.names[f"p{n}"] = parse
        return [f"{x} = p{n}({x}, {name!r})"]

    def shape(self, x: str, kind: str, name: str, expected: str) -> list[str]:
        return [f"if {x}.__class__ is not {kind}:", f"    _shape(_cls, {name!r}, {expected!r}, {x})"]

    def converted(self, x: str, n: int, converter: Any, *, memoise: bool) -> list[str]:
        self.names[f"c{n}"] = converter
        if not (memoise and _pure(converter)):
            return [f"{x} = c{n}({x})"]
        memo: dict[Any, Any] = {}
        self.names[f"m{n}"], self.names[f"f{n}"] = memo, _memo_filler(converter, memo)
        return [f"{x} = m{n}.get({x}) or f{n}({x})"]

    def validate(self, n: int, field: Any) -> list[str]:
        if field.validator is None:
            return []
        self.names[f"v{n}"], self.names[f"a{n}"] = field.validator, field
        test = _PASSES.get(field.validator)
        if test is None:
            return [f"v{n}(self, a{n}, x{n})"]
        return [f"if not ({test.format(x=f'x{n}')}):", f"    v{n}(self, a{n}, x{n})"]

    def finish(self) -> list[str]:
        """Lines completing the instance: its id as stored (``uid``), or derived when none was stored."""
        if self.tag is None:  # a nested value class
            return ["self = _cls(**kwargs)"]
        self.names["_set_given"] = _slot_setter(self.cls, "_given_event_id", raw=True)
        stored = ["if uid is not None:", "    _set_given(self, _FROM_STORAGE)"]
        if not self.direct:
            return ["self = _cls(**kwargs, event_id=uid)", *stored]
        if self.post_init:  # the class's own checks across fields; a stored id is taken as given
            self.names["_post_init"] = self.cls.__attrs_post_init__  # type: ignore[attr-defined]
            return ["_set_given(self, uid)", "_post_init(self)", *stored]
        self.names["_set_id"] = _slot_setter(self.cls, "event_id")
        self.names["_derive"] = derive_event_id
        return [
            "if uid is None:",
            "    _set_given(self, None)",
            "    _set_id(self, _derive(self))",
            "else:",
            "    _set_given(self, _FROM_STORAGE)",
            "    _set_id(self, uid)",
        ]

    # -- the index -----------------------------------------------------------------------------------------

    def index(self) -> Callable[[Any, tuple[str, ...]], Index]:
        tag, amends = self.tag or "", getattr(self.cls, "__amends__", False)

        def index(event: Any, target_countries: tuple[str, ...] = ()) -> Index:
            countries = event.countries
            if target_countries:
                countries = tuple(dict.fromkeys((*countries, *target_countries)))
            target = event.target if amends else None
            return Index(tag, event.event_id, countries, target, valid_time_columns(event))

        return index


_KINDS = {str: "a string", int: "a whole number", bool: "True or False"}


def _not_json(value: Any, kind: type, name: str) -> Any:
    raise ValidationError(f"{name}: expected {_KINDS[kind]}, got {value!r}", field=name)


def _decimal_text(value: Any, name: str) -> str:
    """A ``Decimal`` as plain decimal text; anything else (a float, say, which is not the number it looks
    like) or a value that is not finite is refused."""
    if type(value) is not Decimal or not value.is_finite():
        raise ValidationError(
            f"{name}: expected a finite Decimal, got {value!r}; floats are inexact: pass Decimal('0.1')",
            field=name,
        )
    return format(value, "f")


def _parse_decimal(text: str, name: str) -> Decimal:
    if not _DECIMAL_TEXT.fullmatch(text):
        raise SerializationError(f'field {name!r}: expected a decimal number as a string such as "6238"')
    return Decimal(text)


def _parse_uuid(text: str, name: str) -> uuid.UUID:
    found = read_uuid(text)
    if found is None:
        raise SerializationError(f"field {name!r}: expected a UUID string, got {_short(text)}")
    return found


def _parse_date(text: str, name: str) -> FuzzyDate:
    return FuzzyDate.coerce(text, field=name)


def _enum_parser(enum_cls: type[enum.Enum]) -> Callable[[str, str], enum.Enum]:
    def parse(text: str, name: str) -> enum.Enum:
        for member in enum_cls:
            if member.value == text and type(member.value) is str:
                return member
        choices = ", ".join(repr(member.value) for member in enum_cls)
        raise SerializationError(f"field {name!r}: expected one of {choices}, got {_short(text)}")

    return parse


_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_TEXT_PARSERS: dict[Any, Callable[[str, str], Any]] = {
    Decimal: _parse_decimal,
    uuid.UUID: _parse_uuid,
    FuzzyDate: _parse_date,
}


#: The value types whose instances cannot change once made (``_events`` adds its frozen ``Source``).
UNCHANGING_VALUES: set[Any] = {str, int, bool, Decimal, FuzzyDate, uuid.UUID, type(None)}


def _unchanging(hint: Any) -> bool:
    """Whether a value of type *hint* cannot change once made. An event class does not count: a field
    typed as one may hold any subclass, a user's with fields that can change."""
    if hint in UNCHANGING_VALUES or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
        return True
    if _optional(hint) is not None:
        return _unchanging(_optional(hint))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, frozenset) and (len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)):
        return _unchanging(args[0])
    return False


def _optional(hint: Any) -> Any:
    """``T`` of ``T | None``, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        return next(arg for arg in args if arg is not type(None))
    return None


def _pure(converter: Any) -> bool:
    """policytracker's own field converters are pure functions of their argument (user converters may be
    anything, so they always run)."""
    return getattr(converter, "__module__", "").startswith("policytracker.")


def _memo_filler(convert: Callable[[Any], Any], memo: dict[Any, Any]) -> Callable[[Any], Any]:
    def fill(value: Any) -> Any:
        result = convert(value)
        if result and len(memo) < _MEMO_LIMIT:
            memo[value] = result
        return result

    return fill


def _slot_setter(cls: type, name: str, *, raw: bool = False) -> Callable[[Any, Any], None]:
    """A function setting attribute *name* of an instance of the frozen class *cls*: the ``__set__`` of the
    slot holding it (*raw*: past a descriptor that wraps the slot)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            slot = vars(klass)[name]
            if raw and isinstance(slot, _GivenId):
                slot = slot.slot
            if isinstance(slot, types.MemberDescriptorType):
                setter: Callable[[Any, Any], None] = slot.__set__
                return setter
            break
    return lambda instance, value: object.__setattr__(instance, name, value)


def _nested_values(
    cls: type, field: str, *, single: bool = False, convert: Callable[[Any], Any] | None = None
) -> Callable[[Any], Any]:
    """The decoder of a nested attrs value (a ``Source``, say) or a list of them (then passed to the
    field's pure *convert*, if any), memoised on the items: a few sources recur across most events. Only
    string-valued objects are kept."""
    decode = codec_for(cls).decode
    memo: dict[Any, Any] = {}
    finish: Callable[[Any], Any] = convert or (lambda values: values)

    def one(item: Any) -> Any:
        if item.__class__ is not dict:
            raise SerializationError(f"field {field!r}: expected a {cls.__name__} object, got {_short(item)}")
        try:
            return decode(item, None)
        except SerializationError as exc:
            raise SerializationError(f"field {field!r}: {exc}") from None

    def many(items: list[Any]) -> Any:
        try:
            if len(items) == 1:  # the common case, without a comprehension's frame
                key: Any = (tuple(items[0].items()),)
            else:
                key = tuple([tuple(item.items()) for item in items])
            return memo[key]
        except (AttributeError, TypeError):  # not objects, or unhashable values: no key
            return finish(tuple([one(item) for item in items]))
        except KeyError:
            result = finish(tuple([one(item) for item in items]))
            if len(memo) < _MEMO_LIMIT:
                memo[key] = result
            return result

    return one if single else many


# --- errors raised by generated code -----------------------------------------------------------------------


def _what(cls: type) -> str:
    tag = cls.__dict__.get("__event_tag__")
    return f"event {tag!r}: " if tag else f"{cls.__name__} "


def _refused(cls: type, exc: BaseException) -> SerializationError:
    tag = cls.__dict__.get("__event_tag__")
    if isinstance(exc, SerializationError):
        return SerializationError(f"{_what(cls)}{exc}", tag=tag)
    field = exc.field if isinstance(exc, ValidationError) else None
    where = f"field {field!r}: " if field else ""
    return SerializationError(f"{_what(cls)}{where}{exc}", tag=tag)


def _missing(cls: type, name: str) -> None:
    if cls.__dict__.get("__event_tag__"):
        raise SerializationError(f"field {name!r}: required field missing")
    raise SerializationError(f"{name}: required field missing")


def _shape(cls: type, name: str, expected: str, value: Any) -> None:
    raise SerializationError(f"field {name!r}: expected {expected}, got {_short(value)}")


def _nested(cls: type, name: str, exc: SerializationError) -> None:
    raise SerializationError(f"field {name!r}: {exc}", tag=exc.tag)


def _extra_fields(cls: type, known: set[str]) -> Callable[[dict[str, Any]], None]:
    def extra(obj: dict[str, Any]) -> None:
        names = ", ".join(sorted(str(key) for key in set(obj) - known))
        if cls.__dict__.get("__event_tag__"):
            raise SerializationError(f"extra fields found ({names})")
        raise SerializationError(f"unknown {cls.__name__.lower()} fields ({names})")

    return extra


def _short(obj: Any, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- events -------------------------------------------------------------------------------------------------


def encode_event(event: Any, id_text: str | None = None) -> dict[str, Any]:
    """The canonical, JSON-ready object of *event*: type tag, schema version, ``event_id`` (*id_text*, when
    the caller has already written it out) and its fields not at their default."""
    cls = type(event)
    content = codec_for(cls).encode(event)
    content["type"] = cls.__event_tag__
    content["version"] = cls.__event_version__
    content["event_id"] = str(event.event_id) if id_text is None else id_text
    return content


class EncodedOnce:
    """The base of ``Event``: two slots, outside the attrs fields (so neither compared, hashed, shown nor
    copied), where an event made by its constructor keeps the canonical text its id was derived from,
    and its field values then, until :func:`event_text` first stores it, which then parses that text
    rather than encoding the event again. Only events whose content is settled once made keep it
    (``ClassCodec.unchanging``: not a class with an ``__attrs_post_init__`` of its own, nor one with a
    field whose value could change, such as ``EventCorrected``'s replacement, which may be any event);
    events read from a log leave the slot empty, since their id is stored, not derived. A field set
    anew after construction (``object.__setattr__`` gets past a frozen class) is seen by comparing the
    values kept with those held, and the event is then encoded afresh and read back (``stored_form``),
    so the text stored says what the indexes built from the event say. A value changed in place inside
    a field (a date's or a source's own slots, set past their frozen classes) is not seen: values are
    immutable by contract, and code in the same process could change the library itself as easily."""

    __slots__ = ("_id_text", "_id_values")


_id_text_slot = vars(EncodedOnce)["_id_text"]
_keep_id_text = _id_text_slot.__set__
_kept_id_text = _id_text_slot.__get__
_keep_id_values = vars(EncodedOnce)["_id_values"].__set__
_kept_id_values = vars(EncodedOnce)["_id_values"].__get__


def event_text(event: Any) -> str:
    """The stored text of *event*: the canonical JSON of :func:`encode_event`.

    Raises:
        ValidationError: a value cannot be stored (an integer outside -2**63 .. 2**64-1, say).
    """
    return event_text_and_id(event)[0]


def event_text_and_id(event: Any) -> tuple[str, str]:
    """:func:`event_text` and the event id as that text holds it (hyphenated), as an append needs both.

    Raises:
        ValidationError: a value cannot be stored (an integer outside -2**63 .. 2**64-1, say).
    """
    text, id_text, _ = _text_and_id(event)
    return text, id_text


def _text_and_id(event: Any) -> tuple[str, str, bool]:
    """:func:`event_text_and_id`, and whether the text is the one kept since the event was made."""
    id_text = str(event.event_id)
    try:
        kept = _kept_id_text(event)
    except AttributeError:  # not made by its constructor
        kept = None
    if kept is not None:
        _keep_id_text(event, None)  # not deleted: two threads storing one event may both get here
        # The same values (the same objects, or equal ones that store alike) as when it was made.
        if _IDENTIFYING[type(event)][2](event) == _kept_id_values(event):
            content = loads(kept)
            content["version"] = type(event).__event_version__
            content["event_id"] = id_text
            return _canonical(content, event), id_text, True
    # Not made by its constructor, already stored once, or a field was set anew since it was made.
    return _canonical(encode_event(event, id_text), event), id_text, False


def stored_form(event: Any) -> tuple[Any, str, str]:
    """What an append stores for *event*: the event its indexes are built from, its stored text and its
    id as the text holds it. An event whose kept text serves (see :class:`EncodedOnce`) is stored as it
    is; any other is encoded afresh and read back from that text, so that what the indexes say and what
    the text says cannot differ, and a value that would not read back (a field set anew past the frozen
    class to a wrong value) is refused before anything is written.

    Raises:
        ValidationError: a value cannot be stored, or would not read back.
    """
    try:
        text, id_text, kept = _text_and_id(event)
    except (TypeError, AttributeError, ValueError) as exc:  # a field holds what no constructor allows
        if isinstance(exc, ValidationError):
            raise
        try:
            attrs.evolve(event)  # the constructor names the field
        except ValidationError as invalid:
            raise ValidationError(str(invalid), field=invalid.field) from None
        except Exception:  # only the message is wanted: the error below stands otherwise
            pass
        raise ValidationError(f"{type(event).__name__} holds a value it cannot store: {exc}") from None
    if kept:
        return event, text, id_text
    try:
        return decode_text(text), text, id_text
    except SerializationError as exc:
        raise ValidationError(f"{type(event).__name__} would not read back: {exc}") from None


def derive_event_id(event: Any) -> uuid.UUID:
    """The content-derived id of *event*: UUIDv5 of the canonical JSON of its type tag and every field but
    ``event_id``, fields at their default left out (so a defaulted field added later keeps old ids)."""
    return _identified(event, keep=False)


def identify(event: Any) -> uuid.UUID:
    """:func:`derive_event_id`, keeping the canonical text it is derived from on *event* when its class's
    content is settled once made (see :class:`EncodedOnce`) for :func:`event_text`: what an event's
    constructor calls."""
    return _identified(event, keep=True)


def _identified(event: Any, *, keep: bool) -> uuid.UUID:
    cls = type(event)
    found = _IDENTIFYING.get(cls)
    if found is None:
        codec = codec_for(cls)
        kept = codec.encode_kept if codec.unchanging else None
        found = _IDENTIFYING[cls] = (codec.encode, kept, codec.values)
    encode, encode_kept, _ = found
    if keep and encode_kept is not None:
        content, values = encode_kept(event)
        content["type"] = cls.__event_tag__
        text = _canonical(content, event)
        _keep_id_values(event, values)
        _keep_id_text(event, text)
    else:
        content = encode(event)
        content["type"] = cls.__event_tag__
        text = _canonical(content, event)
    return uuid5(text)


#: For each event class identified so far: its encoder; the encoder that also returns the values it
#: encoded, when its events are settled once made (else None); and what reads those values again.
_IDENTIFYING: dict[
    type,
    tuple[
        Callable[[Any], dict[str, Any]],
        Callable[[Any], tuple[dict[str, Any], tuple[Any, ...]]] | None,
        Callable[[Any], tuple[Any, ...]],
    ],
] = {}


def _canonical(content: dict[str, Any], event: Any) -> str:
    try:
        return canonical_json(content)
    except ValueError as exc:  # a value JSON cannot hold as every reader of the log would read it back
        field = next((name for name, value in content.items() if not _storable(value)), "value")
        raise ValidationError(f"{field}: {exc}; a log cannot store it", field=field) from None


def _storable(value: Any) -> bool:
    try:
        canonical_json([value])
    except ValueError:
        return False
    return True


def index_event(event: Any, target_countries: tuple[str, ...] = ()) -> Index:
    """The :class:`Index` of *event*; an amendment's countries also hold *target_countries*."""
    return codec_for(type(event)).index(event, target_countries)


#: tag → (codec, its decoder), for the classes decoded so far.
_BY_TAG: dict[Any, tuple[ClassCodec, Callable[[dict[str, Any], uuid.UUID | None], Any]]] = {}


def _decode(obj: Any) -> Any:
    if obj.__class__ is not dict:
        raise SerializationError(f"expected an event object, got {_short(obj)}")
    tag = obj.get("type")
    found = _BY_TAG.get(tag) if tag.__class__ is str else None
    codec, decode = found if found is not None else _codec_of_tag(tag, obj)
    tag = codec.tag
    raw = obj.get("event_id", _MISSING)
    uid = None if raw is _MISSING else read_uuid(raw)
    if uid is None and raw is not _MISSING:
        raise SerializationError(
            f"event {tag!r}: event_id: expected a UUID string, got {_short(raw)}", tag=tag
        )
    version = obj.get("version")
    if version != codec.version or version.__class__ is not int:
        obj = _upcast(codec, tag or "", obj)
    return decode(obj, uid)


def _codec_of_tag(
    tag: Any, obj: dict[str, Any]
) -> tuple[ClassCodec, Callable[[dict[str, Any], uuid.UUID | None], Any]]:
    if tag.__class__ is not str:
        raise SerializationError(f"event object has no string 'type' tag: {_short(obj)}")
    cls = CLASSES.get(tag)
    if cls is None:
        known = ", ".join(sorted(CLASSES))
        raise SerializationError(f"unknown event type tag {tag!r}; known tags: {known}", tag=tag)
    codec = codec_for(cls)
    found = _BY_TAG[tag] = (codec, codec.decode)
    return found


def _upcast(codec: ClassCodec, tag: str, obj: dict[str, Any]) -> dict[str, Any]:
    version, current = obj.get("version"), codec.version
    if type(version) is not int or version < 1:
        raise SerializationError(
            f"event {tag!r}: 'version' must be a whole number >= 1, got {version!r}", tag=tag
        )
    if version > current:
        raise SerializationError(
            f"event {tag!r} has schema version {version}, newer than the version {current} this "
            "policytracker knows; upgrade policytracker to read it",
            tag=tag,
        )
    fields = {key: value for key, value in obj.items() if key not in ("type", "version")}
    steps = UPCASTERS.get(tag, {})
    while version < current:
        step = steps.get(version)
        if step is None:
            raise SerializationError(
                f"event {tag!r}: no upcaster from schema version {version} to {version + 1}", tag=tag
            )
        try:
            fields = step(dict(fields))
        except Exception as exc:
            raise SerializationError(
                f"event {tag!r}: upcaster from version {version} failed: {exc!r}", tag=tag
            ) from exc
        if type(fields) is not dict:
            raise SerializationError(
                f"event {tag!r}: upcaster from version {version} returned {type(fields).__name__}, "
                "not a dict",
                tag=tag,
            )
        version += 1
    return fields


def _where(line: int | None, position: int | None) -> str:
    if position is not None:
        return f"position {position}: "
    return f"line {line}: " if line is not None else ""


def _located(exc: SerializationError, line: int | None, position: int | None) -> SerializationError:
    return SerializationError(f"{_where(line, position)}{exc}", tag=exc.tag, line=line, position=position)


def decode_event(obj: Any, *, position: int | None = None, line: int | None = None) -> Any:
    """The event stored as the object *obj*, upcast from an old schema version where needed.

    *position* / *line* only say where *obj* came from, for the error message.

    Raises:
        SerializationError: unknown tag, future or unreachable version, a missing, extra or ill-typed
            field, or a value the class refuses; the message names the tag, the field and the place.
    """
    try:
        return _decode(obj)
    except SerializationError as exc:
        raise _located(exc, line, position) from exc.__cause__


def decode_text(text: str | bytes, *, position: int | None = None, line: int | None = None) -> Any:
    """The event stored as the JSON *text*; see :func:`decode_event` (malformed JSON is refused too)."""
    try:
        obj = loads(text)
    except (ValueError, RecursionError) as exc:
        raise SerializationError(
            f"{_where(line, position)}malformed JSON: {exc}", line=line, position=position
        ) from None
    try:
        return _decode(obj)
    except SerializationError as exc:
        raise _located(exc, line, position) from exc.__cause__


def encode_value(value: Any) -> Any:
    """The canonical JSON-ready form of one value whose type is known only at run time."""
    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is FuzzyDate or isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [encode_value(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(encode_value(item) for item in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if _is_event_class(type(value)):
        return encode_event(value)
    if attrs.has(type(value)):
        return codec_for(type(value)).encode(value)
    raise TypeError(f"cannot encode {type(value).__name__} value {value!r} canonically")
