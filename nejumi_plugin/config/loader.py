"""Load and validate a run config file, with ``--set dotted.key=value`` overrides and readable errors."""

from __future__ import annotations

import copy
import difflib
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .schema import RunConfig

_TEMPLATE = "configs/config_template.yaml"
_MAX_REPR = 60


class ConfigError(Exception):
    """A config file (or an override) that cannot be loaded; the message starts with the file path."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (as OmegaConf, which Neo used, does)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _short(value: Any) -> str:
    """``repr`` of a value, cut to a readable length (a URL's credentials are never shown)."""
    from ..redact import redact_text

    text = redact_text(repr(value))
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- walking the schema -------------------------------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The config model inside an annotation (unwrapping Optional and list), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, list):
        for arg in get_args(annotation):
            model = _model_of(arg)
            if model is not None:
                return model
    return None


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Fields of a model keyed by their YAML key (alias if set)."""
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _walk(loc: Sequence[str | int]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """(model that holds the last key of ``loc``, that key's field or None)."""
    model: type[BaseModel] | None = RunConfig
    field: FieldInfo | None = None
    for i, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if model is None:
            return None, None
        field = _fields(model).get(part)
        if i == len(loc) - 1 or field is None:
            return model, field
        model = _model_of(field.annotation)
    return model, field


def _all_dotted(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, info in _fields(model).items():
        keys.append(prefix + key)
        sub = _model_of(info.annotation)
        if sub is not None and get_origin(info.annotation) is not list:
            keys += _all_dotted(sub, prefix + key + ".")
    return keys


def _suggest(model: type[BaseModel] | None, key: str) -> str:
    """'did you mean X?' for an unknown key, from the keys of its model (or a same-named key elsewhere)."""
    elsewhere = [k for k in _all_dotted(RunConfig) if k.rsplit(".", 1)[-1] == key]
    if elsewhere:  # a known key in the wrong section
        return f"did you mean {elsewhere[0]}?"
    known = list(_fields(model)) if model is not None else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}?"
    return "expected one of: " + ", ".join(known)


# --- rendering validation errors ----------------------------------------------------------------------------

_EXPECTED = {
    "int_type": "expected an integer",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}


def _expected(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _EXPECTED:
        text = _EXPECTED[kind]
    elif kind == "literal_error":
        text = f"expected one of {ctx['expected']}"
    elif kind == "greater_than_equal":
        text = f"expected an integer >= {ctx['ge']}"
    elif kind == "greater_than":
        text = f"expected an integer > {ctx['gt']}"
    elif kind == "missing":
        return "missing required key"
    elif kind == "value_error":
        text = str(error["msg"]).removeprefix("Value error, ")
    else:
        text = str(error["msg"])
    _, field = _walk(error["loc"])
    nullable = field is not None and type(None) in get_args(field.annotation)
    if nullable and text.startswith("expected ") and "null" not in text:
        text = "expected null or " + text.removeprefix("expected ")
    return text


def _render(label: str, error: dict[str, Any], origins: dict[str, str]) -> str:
    loc = error["loc"]
    dotted = _dotted(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        model, _ = _walk(loc)
        text = f"unknown key; {_suggest(model, str(loc[-1]))}"
    else:
        text = _expected(error)
    line = f"{label}: {dotted}: {text}"
    if error["type"] != "missing":
        line += f" (got {_short(error['input'])})"
    for key, override in origins.items():
        if dotted == key or dotted.startswith((key + ".", key + "[")):
            line += f" [from --set {override}]"
    return line


# --- overrides ----------------------------------------------------------------------------------------------


def _apply_override(label: str, data: dict[str, Any], override: str) -> str:
    """Apply one ``dotted.key=value`` to the raw mapping; returns the dotted key."""
    key, sep, raw = override.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not all(parts):
        raise ConfigError(
            f"{label}: --set {override!r}: malformed override; expected dotted.key=value, "
            "e.g. llm_jp_eval.ja_num_shots=2"
        )
    model: type[BaseModel] | None = RunConfig
    field: FieldInfo | None = None
    for i, part in enumerate(parts):
        parent, field = field, (_fields(model).get(part) if model is not None else None)
        if field is None:
            where = ".".join(parts[:i])
            if model is not None:
                hint = _suggest(model, part)
            elif parent is not None and get_origin(parent.annotation) is list:
                hint = f"{where} is a list; set it whole, e.g. {where}=[{{run_path: e/p/run_id, tasks: [mtbench_ja]}}]"
            else:
                hint = f"{where} has no sub-keys"
            raise ConfigError(f"{label}: --set {override!r}: unknown key {'.'.join(parts[: i + 1])}; {hint}")
        model = _model_of(field.annotation) if get_origin(field.annotation) is not list else None
    try:
        value = yaml.load(raw, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{label}: --set {override!r}: value is not valid YAML: {problem}") from None
    node = data
    for i, part in enumerate(parts[:-1]):
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(
                f"{label}: --set {override!r}: {'.'.join(parts[: i + 1])} in the file is not a "
                f"mapping (got {_short(node)})"
            )
    node[parts[-1]] = value
    return key


def _check_interpolations(label: str, node: Any, loc: tuple[str | int, ...] = ()) -> None:
    """Neo's OmegaConf resolved ``${...}``; we do not, so such a value must fail rather than change meaning."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_interpolations(label, value, (*loc, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_interpolations(label, value, (*loc, i))
    elif isinstance(node, str) and "${" in node:
        raise ConfigError(
            f"{label}: {_dotted(loc)}: OmegaConf interpolation (${{...}}) is not supported; "
            f"expected the value written out (got {_short(node)})"
        )


# --- loading ------------------------------------------------------------------------------------------------


def _read_mapping(path: Path, label: str) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(
            f"{label}: config file not found; create one from the template, e.g. `cp {_TEMPLATE} {label}`, then edit it"
        )
    if not path.is_file():
        raise ConfigError(f"{label}: expected a YAML file, found a directory or special file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read the file ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{label}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else _short(data)
        raise ConfigError(f"{label}: expected a mapping of config keys at the top level (got {got})")
    return data


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read ``path`` (YAML), apply ``overrides`` (``dotted.key=value``, values parsed as YAML) and validate.

    The result's ``source_path`` is the resolved file path and ``base_dir`` its folder. Raises ``ConfigError``.
    """
    label = str(path)
    file = Path(path).expanduser()
    data = copy.deepcopy(_read_mapping(file, label))
    if isinstance(overrides, str):
        overrides = [overrides]
    origins = {_apply_override(label, data, override): override for override in overrides}
    _check_interpolations(label, data)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_render(label, dict(error), origins) for error in exc.errors(include_url=False)]
        raise ConfigError("\n".join(lines)) from None
    config._set_source(file.resolve())
    return config
