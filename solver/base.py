"""The strict base of every typed record (config sections, material and kinetics laws,
compact-model documents) and the constrained number types they share.

Every model is frozen, forbids unknown keys (a typo must never pass silently) and rejects
non-finite numbers. `strict`: a string is not a number and a float is not an int; YAML lists
become tuples before validation (solver.config), so sequences validate in strict mode too.
"""

from __future__ import annotations

from typing import Annotated

import annotated_types
from pydantic import BaseModel, ConfigDict, StringConstraints, model_serializer

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"

# Constraints as annotated_types/StringConstraints, never as a shared Field(...): pydantic 2.10
# (Debian 13) merges a field's default into a FieldInfo shared through Annotated, so one
# `x: Positive = 2.44e-8` gave every required Positive field that default.
Positive = Annotated[float, annotated_types.Gt(0)]
NonNegative = Annotated[float, annotated_types.Ge(0)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]


class StrictModel(BaseModel):
    """Frozen, no unknown keys, finite numbers only, no type coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class TaggedModel(StrictModel):
    """A member of a discriminated union (a material law, a kinetics law): written with its
    `law:` tag first and its `source:` last, whatever the class hierarchy's field order."""

    @model_serializer(mode="wrap")
    def _tag_first(self, handler):
        data = handler(self)
        if not isinstance(data, dict):
            return data
        ordered = {key: data[key] for key in ("law",) if key in data}
        ordered.update({key: value for key, value in data.items() if key not in ("law", "source")})
        if "source" in data:
            ordered["source"] = data["source"]
        return ordered
