"""Strict YAML for metadata files: safe loading, pydantic models with no unknown keys, errors with line numbers.

A mistyped key in a registry row or a spec would otherwise be dropped without a word; here it stops the run with
one line naming the file, the line and the key.
"""

from pathlib import Path
from typing import TypeVar

import pydantic
import yaml

from exportrisk.errors import InputError

Model = TypeVar("Model", bound=pydantic.BaseModel)


class Strict(pydantic.BaseModel):
    """Base of metadata models: unknown keys are errors, values are not silently coerced between types."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Line of every key in a composed YAML document, by dotted path ('columns.value.decimal' -> 12)."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            lines[name] = key.start_mark.line + 1
            lines.update(key_lines(value, name + "."))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[f"{prefix}{i}"] = item.start_mark.line + 1
            lines.update(key_lines(item, f"{prefix}{i}."))
    return lines


def load(path: Path) -> tuple[object, dict[str, int]]:
    """A YAML file's document and the line of each key in it; a syntax error is one line naming the row."""
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text), key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except UnicodeDecodeError:
        raise InputError(path, "not valid UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", row=mark and mark.line + 1
        ) from None


def check(model: type[Model], doc: object, path: Path, lines: dict[str, int], prefix: str = "") -> Model:
    """``doc`` as ``model``; the first problem becomes one InputError naming the key and its line."""
    try:
        return model.model_validate(doc)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in ([prefix] if prefix else []) + list(error["loc"]))
        found = [k for k in lines if key == k or key.startswith(k + ".")]
        row = lines[max(found, key=len)] if found else None
        problem = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise InputError(path, f"key {key!r}: {problem}" if key else problem, row=row) from None
