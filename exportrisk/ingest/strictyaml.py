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


# Nodes a document may hold once its aliases are expanded. A real metadata or mapping file holds hundreds (a
# countries: section naming every state, some 600); an "alias bomb" of nested anchors, a few lines long, expands
# to billions and exhausts memory when anything walks it. Counted on the composed graph, where an alias is one
# shared node, so refusing costs no more than parsing.
MAX_NODES = 100_000


def yaml_error(path: Path, exc: yaml.YAMLError) -> InputError:
    """A YAML syntax error as one line naming the file and the row."""
    mark = getattr(exc, "problem_mark", None)
    return InputError(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", row=mark and mark.line + 1)


def expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """Nodes in ``node`` with every alias expanded, each shared node sized once; a node holding itself is endless."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_:
        return MAX_NODES + 1
    open_.add(id(node))
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    size = 1 + sum(min(expanded_size(c, sizes, open_), MAX_NODES + 1) for c in children)
    open_.discard(id(node))
    sizes[id(node)] = size
    return size


def compose_bounded(text: str, path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> list[yaml.Node]:
    """The composed documents of ``text``, refused in one line if aliases expand them beyond MAX_NODES."""
    try:
        nodes = list(yaml.compose_all(text, Loader=loader))
        sizes = [expanded_size(node, {}, set()) for node in nodes]
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    except RecursionError:
        raise InputError(path, "values nested too deeply to read (lists or mappings inside each other)") from None
    for node, size in zip(nodes, sizes, strict=True):
        if size > MAX_NODES:
            raise InputError(
                path,
                f"aliases expand the document beyond {MAX_NODES:,} values (nested anchors, or an alias inside "
                "itself): write the values out",
                row=node.start_mark.line + 1,
            )
    return nodes


def load(path: Path) -> tuple[object, dict[str, int]]:
    """A YAML file's document and the line of each key in it; a syntax error is one line naming the row."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not valid UTF-8") from None
    nodes = compose_bounded(text, path)
    try:
        return yaml.safe_load(text), key_lines(nodes[0] if nodes else None)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None


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
