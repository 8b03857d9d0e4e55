"""Reading what a DSPy adapter asks for, and writing a well-formed answer to it.

Shared by the in-process fake engine (``fake_engine.FakeEngine``) and the loopback HTTP server
(``loopback_server``): both turn the request they receive into a :class:`PromptView` and answer it
with the same code. Test-only: nothing here belongs in product code.

What is read (DSPy 3.4.1 ChatAdapter, and the JSONAdapter it falls back to):

- the system message lists ``Your output fields are:`` as ``1. `name` (annotation): desc``;
- the structure section then shows ``[[ ## name ## ]]`` / ``{name}        # note: the value you produce ...``
  (ChatAdapter) or a JSON object ``{"name": "{name}        # note: ..."}`` after
  ``Outputs will be a JSON object with the following fields.`` (JSONAdapter);
- the note says the type: absent (str), ``must be True or False``, ``must be a single int value``,
  ``must be one of: x; y`` (enum), ``must exactly match (no extra characters) one of: a; b``
  (Literal), or ``must adhere to the JSON schema: {...}`` (lists, dicts, pydantic models, ...).
"""

from __future__ import annotations

import ast
import enum
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OUTPUTS_HEADER = "Your output fields are:"
STRUCTURE_HEADER = "All interactions will be structured"
JSON_OUTPUTS_HEADER = "Outputs will be a JSON object with the following fields."
NOTE_PREFIX = "# note: the value you produce "

Chooser = Callable[[str, Sequence[Any]], Any]
"""``choose(path, options) -> option``: picks one of a Literal's options or a schema enum's values."""


# ─── What the request asks for ──────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class OutputField:
    """One output field the adapter asked for.

    kind: ``"str"``, ``"bool"``, ``"int"``, ``"float"``, ``"enum"``, ``"literal"`` or ``"json"``.
    options: the allowed values of an enum / Literal (Literal values keep their Python type).
    schema: the JSON schema of a ``"json"`` field.
    """

    name: str
    annotation: str | None = None
    kind: str = "str"
    options: tuple[Any, ...] = ()
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PromptMessage:
    role: str
    text: str
    image_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptView:
    """A request reduced to what a fake needs: text, images in order, and the output fields asked for."""

    model: str
    system: str
    messages: tuple[PromptMessage, ...]
    output_fields: tuple[OutputField, ...]
    adapter: str | None  # "chat", "json", or None (not a DSPy adapter prompt)

    @property
    def text(self) -> str:
        """All text of the request: the system message, then every message, joined by blank lines."""
        chunks = [self.system] if self.system else []
        chunks.extend(m.text for m in self.messages)
        return "\n\n".join(chunks)

    @property
    def image_urls(self) -> tuple[str, ...]:
        return tuple(url for m in self.messages for url in m.image_urls)

    @property
    def last_user_text(self) -> str:
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")

    def fingerprint(self) -> str:
        """A stable digest of the text and the images (used by the "hash" choice policy)."""
        digest = hashlib.sha256(self.text.encode("utf-8"))
        for url in self.image_urls:
            digest.update(b"\x00" + url.encode("utf-8"))
        return digest.hexdigest()


def make_view(model: str, system: str, messages: Sequence[PromptMessage]) -> PromptView:
    messages = tuple(messages)
    fields, adapter = parse_output_fields(system)
    if not fields and OUTPUTS_HEADER not in system:
        # No system message carried the signature (e.g. a developer-role message): read all text.
        joined = "\n\n".join(m.text for m in messages)
        fields, adapter = parse_output_fields(joined)
    return PromptView(model=model, system=system, messages=messages, output_fields=fields, adapter=adapter)


def view_from_request(request) -> PromptView:
    """A :class:`PromptView` of a ``dspy.lm15.Request`` (what a custom engine receives)."""
    system = request.system
    if system is None:
        system_text = ""
    elif isinstance(system, str):
        system_text = system
    else:
        system_text = "".join(getattr(part, "text", "") or "" for part in system)
    system_chunks = [system_text] if system_text else []
    messages = []
    for message in request.messages:
        texts, urls = [], []
        for part in message.parts:
            kind = getattr(part, "type", None)
            if kind == "text":
                texts.append(part.text)
            elif kind == "image":
                urls.append(media_part_url(part))
            elif kind == "thinking":
                continue
            elif hasattr(part, "text") and isinstance(part.text, str):
                texts.append(part.text)
        if message.role in ("system", "developer") and not urls:
            system_chunks.append("".join(texts))
            continue
        messages.append(PromptMessage(role=message.role, text="".join(texts), image_urls=tuple(urls)))
    return make_view(request.model, "\n\n".join(system_chunks), messages)


def view_from_openai_messages(model: str, messages: Sequence[Mapping[str, Any]]) -> PromptView:
    """A :class:`PromptView` of an OpenAI Chat Completions ``messages`` list (what the server receives)."""
    system_chunks, out = [], []
    for message in messages:
        role = message.get("role", "user")
        texts, urls = [], []
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, Mapping):
                    continue
                if part.get("type") == "text":
                    texts.append(part.get("text") or "")
                elif part.get("type") == "image_url":
                    image = part.get("image_url")
                    urls.append(image.get("url", "") if isinstance(image, Mapping) else str(image))
        if role in ("system", "developer") and not urls:
            system_chunks.append("".join(texts))
            continue
        out.append(PromptMessage(role=role, text="".join(texts), image_urls=tuple(urls)))
    return make_view(model, "\n\n".join(system_chunks), out)


def media_part_url(part) -> str:
    """The URL of an lm15 image part: its url, or a data URI rebuilt from inline base64 data."""
    if getattr(part, "url", None):
        return part.url
    if getattr(part, "data", None) is not None:
        return f"data:{part.media_type};base64,{part.data}"
    if getattr(part, "file_id", None):
        return f"file_id:{part.file_id}"
    return f"path:{part.path}"


# ─── Parsing the adapter's field list ───────────────────────────────────────────────────────────


_ENTRY = re.compile(r"^(\d+)\. `(\w+)` \(")


def _annotation_at(line: str, start: int) -> str | None:
    """The annotation text that starts at ``line[start]`` (just after "("), up to the matching ")"."""
    depth, quote, i = 0, None, start
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            if depth == 0 and ch == ")":
                return line[start:i]
            depth -= 1
        i += 1
    return None


def _output_entries(text: str) -> list[tuple[str, str | None]]:
    start = text.find(OUTPUTS_HEADER)
    if start < 0:
        return []
    section = text[start + len(OUTPUTS_HEADER):]
    end = section.find(STRUCTURE_HEADER)
    if end >= 0:
        section = section[:end]
    entries: list[tuple[str, str | None]] = []
    for line in section.splitlines():
        match = _ENTRY.match(line)
        if match and int(match.group(1)) == len(entries) + 1:
            entries.append((match.group(2), _annotation_at(line, match.end())))
    return entries


def _chat_notes(text: str, names: Sequence[str]) -> dict[str, str | None]:
    start = text.find(STRUCTURE_HEADER)
    structure = text[start:] if start >= 0 else text
    notes: dict[str, str | None] = {}
    for name in names:
        pattern = rf"\[\[ ## {re.escape(name)} ## \]\]\n\{{{re.escape(name)}\}}([^\n]*)"
        match = re.search(pattern, structure)
        notes[name] = match.group(1) if match else None
    return notes


def _json_notes(text: str, names: Sequence[str]) -> dict[str, str | None]:
    start = text.find(JSON_OUTPUTS_HEADER)
    brace = text.find("{", start)
    notes: dict[str, str | None] = {name: None for name in names}
    if brace < 0:
        return notes
    try:
        block, _ = json.JSONDecoder().raw_decode(text, brace)
    except json.JSONDecodeError:
        return notes
    if isinstance(block, dict):
        for name in names:
            template = block.get(name)
            if isinstance(template, str) and template.startswith("{" + name + "}"):
                notes[name] = template[len(name) + 2:]
    return notes


def _literal_options(annotation: str | None) -> tuple[Any, ...] | None:
    if not annotation or not annotation.startswith("Literal["):
        return None
    try:
        node = ast.parse(annotation, mode="eval").body
        inner = node.slice
        elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return tuple(ast.literal_eval(element) for element in elements)
    except (SyntaxError, ValueError, AttributeError):
        return None


def _field_from_note(name: str, annotation: str | None, note: str | None) -> OutputField:
    note = (note or "").strip()
    if note.startswith(NOTE_PREFIX):
        note = note[len(NOTE_PREFIX):]
    elif note:
        note = note.lstrip("# ")
    if not note:
        return OutputField(name, annotation, "str")
    if note == "must be True or False":
        return OutputField(name, annotation, "bool")
    if note == "must be a single int value":
        return OutputField(name, annotation, "int")
    if note == "must be a single float value":
        return OutputField(name, annotation, "float")
    literal_prefix = "must exactly match (no extra characters) one of: "
    if note.startswith(literal_prefix):
        options = _literal_options(annotation) or tuple(note[len(literal_prefix):].split("; "))
        return OutputField(name, annotation, "literal", options=options)
    if note.startswith("must be one of: "):
        return OutputField(name, annotation, "enum", options=tuple(note[len("must be one of: "):].split("; ")))
    schema_prefix = "must adhere to the JSON schema: "
    if note.startswith(schema_prefix):
        try:
            schema = json.loads(note[len(schema_prefix):])
        except json.JSONDecodeError:
            return OutputField(name, annotation, "str")
        return OutputField(name, annotation, "json", schema=schema)
    return OutputField(name, annotation, "str")


def parse_output_fields(text: str) -> tuple[tuple[OutputField, ...], str | None]:
    """The output fields a DSPy ChatAdapter/JSONAdapter system message asks for, and which adapter wrote it."""
    entries = _output_entries(text)
    if not entries:
        return (), None
    names = [name for name, _ in entries]
    adapter = "json" if JSON_OUTPUTS_HEADER in text else "chat"
    notes = _json_notes(text, names) if adapter == "json" else _chat_notes(text, names)
    return tuple(_field_from_note(name, annotation, notes.get(name)) for name, annotation in entries), adapter


# ─── Generating valid values ────────────────────────────────────────────────────────────────────


def first_option(path: str, options: Sequence[Any]) -> Any:
    return options[0]


@dataclass
class ValueGenerator:
    """Deterministic valid values for output fields.

    choose: picks Literal options and schema enum values, ``choose(path, options)``; the path is the
        field name for a top-level Literal, e.g. ``"answer"``, and like ``"stages[1].kind"`` inside a schema.
    list_len: items in a generated array (clamped to the schema's minItems/maxItems).
    dict_len: keys in a generated free-form object (clamped to minProperties/maxProperties).
    fill_optional: also fill object properties that are not required.
    max_depth: recursion limit for self-referencing schemas (deeper: only required parts, empty lists).
    """

    choose: Chooser = first_option
    list_len: int = 3
    dict_len: int = 2
    fill_optional: bool = True
    max_depth: int = 6

    def value(self, spec: OutputField) -> Any:
        """A Python value that the adapter will parse into the field's type."""
        if spec.kind == "str":
            return f"Fake {spec.name}."
        if spec.kind == "bool":
            return True
        if spec.kind == "int":
            return 1
        if spec.kind == "float":
            return 0.5
        if spec.kind in ("literal", "enum"):
            return self.choose(spec.name, spec.options)
        return self.from_schema(spec.schema or {}, root=spec.schema or {}, path=spec.name, label=spec.name)

    def from_schema(self, schema: Any, *, root: Mapping[str, Any], path: str, label: str,
                    indices: tuple[int, ...] = (), depth: int = 0) -> Any:
        if schema is True or not isinstance(schema, Mapping):
            schema = {}
        schema = self._resolve(schema, root)
        deep = depth >= self.max_depth
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and schema["enum"]:
            return self.choose(path, tuple(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema and schema[key]:
                options = [self._resolve(s, root) if isinstance(s, Mapping) else {} for s in schema[key]]
                non_null = [s for s in options if s.get("type") != "null"]
                if deep and len(non_null) < len(options):
                    return None
                chosen = (non_null or options)[0]
                return self.from_schema(chosen, root=root, path=path, label=label, indices=indices, depth=depth)
        if "allOf" in schema and schema["allOf"]:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, Mapping):
                    merged.update(self._resolve(part, root))
            return self.from_schema(merged, root=root, path=path, label=label, indices=indices, depth=depth)

        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"

        if kind == "null":
            return None
        if kind == "boolean":
            return True
        if kind == "integer":
            return int(self._number(schema, 1))
        if kind == "number":
            return float(self._number(schema, 0.5))
        if kind == "string":
            return self._string(schema, label, indices)
        if kind == "array":
            return self._array(schema, root, path, label, indices, depth)
        if kind == "object":
            return self._object(schema, root, path, label, indices, depth)
        return self._string(schema, label, indices)

    def _resolve(self, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            target: Any = root
            if isinstance(ref, str) and ref.startswith("#/"):
                for piece in ref[2:].split("/"):
                    target = target.get(piece, {}) if isinstance(target, Mapping) else {}
            else:
                target = {}
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**(target if isinstance(target, Mapping) else {}), **rest}
            seen += 1
        return schema

    @staticmethod
    def _number(schema: Mapping[str, Any], default: float) -> float:
        value = default
        integer = schema.get("type") == "integer"
        step = 1 if integer else 0.5
        if isinstance(schema.get("minimum"), (int, float)):
            value = max(value, schema["minimum"])
        if isinstance(schema.get("exclusiveMinimum"), (int, float)) and value <= schema["exclusiveMinimum"]:
            value = schema["exclusiveMinimum"] + step
        if isinstance(schema.get("maximum"), (int, float)):
            value = min(value, schema["maximum"])
        if isinstance(schema.get("exclusiveMaximum"), (int, float)) and value >= schema["exclusiveMaximum"]:
            value = schema["exclusiveMaximum"] - step
        multiple = schema.get("multipleOf")
        if isinstance(multiple, (int, float)) and multiple > 0:
            value = multiple * max(1, round(value / multiple))
        return value

    @staticmethod
    def _string(schema: Mapping[str, Any], label: str, indices: tuple[int, ...]) -> str:
        formats = {
            "date-time": "2024-01-01T00:00:00Z",
            "date": "2024-01-01",
            "time": "00:00:00",
            "email": "fake@example.com",
            "uri": "https://example.com/fake",
            "url": "https://example.com/fake",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }
        if schema.get("format") in formats:
            return formats[schema["format"]]
        text = f"{label} {'.'.join(str(i + 1) for i in indices)}" if indices else f"fake {label}"
        min_len, max_len = schema.get("minLength"), schema.get("maxLength")
        if isinstance(min_len, int) and len(text) < min_len:
            text = text + "x" * (min_len - len(text))
        if isinstance(max_len, int) and len(text) > max_len:
            text = text[-max_len:] if max_len else ""
        return text

    def _array(self, schema, root, path, label, indices, depth):
        if isinstance(schema.get("prefixItems"), list):
            return [
                self.from_schema(item, root=root, path=f"{path}[{i}]", label=label, indices=(*indices, i),
                                 depth=depth + 1)
                for i, item in enumerate(schema["prefixItems"])
            ]
        count = 0 if depth >= self.max_depth else self.list_len
        if isinstance(schema.get("minItems"), int):
            count = max(count, schema["minItems"])
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        items = schema.get("items", {})
        return [
            self.from_schema(items, root=root, path=f"{path}[{i}]", label=label, indices=(*indices, i), depth=depth + 1)
            for i in range(count)
        ]

    def _object(self, schema, root, path, label, indices, depth):
        properties = schema.get("properties")
        if isinstance(properties, Mapping) and properties:
            required = schema.get("required") or []
            keys = [k for k in properties if k in required or (self.fill_optional and depth < self.max_depth)]
            return {
                key: self.from_schema(properties[key], root=root, path=f"{path}.{key}", label=key, indices=indices,
                                      depth=depth + 1)
                for key in keys
            }
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return {}
        count = 0 if depth >= self.max_depth else self.dict_len
        if isinstance(schema.get("minProperties"), int):
            count = max(count, schema["minProperties"])
        if isinstance(schema.get("maxProperties"), int):
            count = min(count, schema["maxProperties"])
        value_schema = extra if isinstance(extra, Mapping) else {}
        return {
            f"key_{i + 1}": self.from_schema(value_schema, root=root, path=f"{path}.key_{i + 1}", label=f"key_{i + 1}",
                                             indices=indices, depth=depth + 1)
            for i in range(count)
        }


# ─── Writing the reply ─────────────────────────────────────────────────────────────────────────


def jsonable(value: Any) -> Any:
    """Plain JSON data for a value: pydantic models dumped, enums by value, tuples as lists."""
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def chat_text(spec: OutputField | None, value: Any) -> str:
    """A value as the ChatAdapter expects it under its ``[[ ## name ## ]]`` header.

    Strings go in verbatim (so a test may hand a pre-encoded JSON string or a deliberately bad value);
    everything else is JSON-encoded.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    return json.dumps(jsonable(value), ensure_ascii=False)


def json_value(spec: OutputField | None, value: Any) -> Any:
    """A value as it goes into the JSONAdapter's JSON object."""
    if isinstance(value, str) and spec is not None and spec.kind in ("json", "bool", "int", "float"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return jsonable(value)


def render_reply(view: PromptView, values: Mapping[str, Any]) -> str:
    """The reply text for the fields in ``values`` (in the requested order, then any extra fields)."""
    specs = {spec.name: spec for spec in view.output_fields}
    ordered = [name for name in specs if name in values] + [name for name in values if name not in specs]
    if view.adapter == "json":
        return json.dumps({name: json_value(specs.get(name), values[name]) for name in ordered}, ensure_ascii=False,
                          indent=2)
    sections = [f"[[ ## {name} ## ]]\n{chat_text(specs.get(name), values[name])}" for name in ordered]
    sections.append("[[ ## completed ## ]]")
    return "\n\n".join(sections)
