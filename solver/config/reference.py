"""The config reference (docs/config.md's key table) generated from the schema itself, so
that the documentation cannot drift from the code (`python scripts/generate_docs.py`)."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from solver.config.schema import Config

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "config.md"
BEGIN = "<!-- BEGIN GENERATED KEY TABLE (python scripts/generate_docs.py) -->"
END = "<!-- END GENERATED KEY TABLE -->"


def _models(annotation) -> list[type[BaseModel]]:
    """Config models inside an annotation (through Optional, Union, tuple, dict, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out = []
    for arg in typing.get_args(annotation):
        out += _models(arg)
    return out


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union,) or str(origin) == "types.UnionType":
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(names))
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[1])}" if len(args) == 2 else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    return getattr(annotation, "__name__", str(annotation))


def _named_variants(annotation) -> list[type[BaseModel]]:
    """Members of a union of models told apart by a literal `name` (the training algorithms)."""
    models = _models(annotation)
    named = [m for m in models if "name" in m.model_fields
             and typing.get_origin(m.model_fields["name"].annotation) is typing.Literal]
    return named if len(named) > 1 and len(named) == len(models) else []


def _default(field) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, (tuple, list)) and value and all(hasattr(v, "name") for v in value):
            return "`[" + ", ".join(str(v.name) for v in value) + "]` (their defaults)"
    if field.default is not PydanticUndefined:
        value = field.default
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        return "—" if value is None else f"`{value}`"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            dumped = value.model_dump(mode="json")
            return f"`{dumped}`" if not isinstance(dumped, dict) or len(str(dumped)) < 60 else "see below"
        return f"`{value}`" if value not in ({}, ()) else "empty"
    return "**required**"


def rows(model: type[BaseModel], prefix: str, seen: set, variant: str = "") -> list[str]:
    out = []
    extra = _extra_annotation(model)
    if extra is not None:  # conditions keyed by facet group (solver.config.schema.Electrical/Thermal)
        out.append(f"| `{prefix}.<boundary>` | {_type_name(extra)} | see below | "
                   f"{model.boundary_description.replace('|', chr(92) + '|')} |")
        for sub in _models(extra):
            out += rows(sub, f"{prefix}.<boundary>", seen)
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        description = variant + (field.description or "").replace("|", "\\|")
        out.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
        variants = _named_variants(field.annotation)
        if variants:
            sub_prefix = f"{path}[i]" if typing.get_origin(field.annotation) in (tuple, list) else path
            listed = next((p for p, models in seen if models == tuple(variants)), None)
            if listed is not None:
                out.append(f"| `{sub_prefix}.*` | | | the keys of `{listed}` |")
                continue
            seen.add((sub_prefix, tuple(variants)))
            for sub in variants:
                tag = typing.get_args(sub.model_fields["name"].annotation)[0]
                out += rows(sub, sub_prefix, seen, f"({tag}) ")
            continue
        for sub in _models(field.annotation):
            key = (path, sub)
            if key in seen:
                continue
            seen.add(key)
            container = typing.get_origin(typing.get_args(field.annotation)[0]) if typing.get_args(field.annotation) else None
            sub_prefix = path
            origin = typing.get_origin(field.annotation)
            if origin is dict or container is dict:
                sub_prefix = f"{path}.<name>"
            elif origin in (tuple, list):
                sub_prefix = f"{path}[i]"
            laws = [m for m in _models(field.annotation) if "law" in m.model_fields]
            if len(laws) > 1:
                continue  # material and kinetics laws are listed once, in their own tables
            out += rows(sub, sub_prefix, seen)
    return out


def _extra_annotation(model: type[BaseModel]):
    """The value type of a model's typed extra keys (`__pydantic_extra__: dict[str, X]`), or None."""
    annotation = typing.get_type_hints(model, include_extras=True).get("__pydantic_extra__")
    if annotation is None or model.model_config.get("extra") != "allow":
        return None
    return typing.get_args(annotation)[1]


def _parameters(model: type[BaseModel], skip: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" + (f" {f.description}" if f.description else "")
                     + ("" if f.is_required() else f" (default {_default(f)})")
                     for n, f in model.model_fields.items() if n not in skip)


def law_rows() -> list[str]:
    """One row per registered material law (solver.materials.laws.LAWS)."""
    from solver.materials.laws import LAWS

    out = []
    for tag, law in LAWS.items():
        summary = (law.__doc__ or "").strip().splitlines()[0]
        properties = "all" if len(law.properties) == 4 else ", ".join(law.properties)
        out.append(f"| `{tag}` | {summary} | {_parameters(law, ('law', 'source'))} | {properties} |")
    return out


def kinetics_rows() -> list[str]:
    """One row per registered kinetics law (solver.materials.kinetics.KINETICS)."""
    from solver.materials.kinetics import KINETICS, KineticsLaw

    shared = tuple(KineticsLaw.model_fields)
    out = []
    for tag, law in KINETICS.items():
        summary = (law.__doc__ or "").strip().splitlines()[0]
        out.append(f"| `{tag}` | {summary} | {_parameters(law, ('law',) + shared)} |")
    return out


def generate() -> str:
    from solver.materials.kinetics import KineticsLaw

    lines = [BEGIN, "", "| key | type | default | meaning |", "|---|---|---|---|"]
    lines += rows(Config, "", set())
    lines += ["", "Material property laws (`materials.<name>.<property>: {law: ..., ...}`; a plain number "
              "means `constant`; every law also takes `source`):", "",
              "| law | value at T | parameters | properties |", "|---|---|---|---|"]
    lines += law_rows()
    lines += ["", "Switching kinetics laws (`kinetics: {law: ..., ...}`; default `ion_hopping`). Every law "
              "also takes " + ", ".join(f"`{n}` (default {_default(f)}: {f.description})"
                                        for n, f in KineticsLaw.model_fields.items()) + ":", "",
              "| law | rate | parameters |", "|---|---|---|"]
    lines += kinetics_rows()
    lines += ["", END]
    return "\n".join(lines)


def current_doc_table() -> str:
    text = DOC_PATH.read_text()
    return text[text.index("<!-- BEGIN GENERATED KEY TABLE"): text.index(END) + len(END)]


def updated_doc() -> str:
    """docs/config.md with its generated table replaced by the current one."""
    text = DOC_PATH.read_text()
    start, end = text.index("<!-- BEGIN GENERATED KEY TABLE"), text.index(END) + len(END)
    return text[:start] + generate() + text[end:]
