"""Random mutations of configs/default.yaml never escape as anything but a ConfigError."""

from __future__ import annotations

import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEFAULT_CONFIG
from solver.config import validate_config
from solver.config.yamlio import read_yaml_file
from solver.errors import ConfigError

BASE = read_yaml_file(DEFAULT_CONFIG)


def _paths(node, prefix=()):
    """Every (container path) in the raw document, so a mutation can target any level."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


PATHS = list(_paths(BASE))

hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e-308, math.nan, math.inf, -math.inf, "", "../../etc",
                     "/abs/path", "Ünïcødé ✓", "名前", "a" * 10_000, "insulated", "constant"]),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=4),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
    st.recursive(st.integers(), lambda children: st.lists(children, max_size=3), max_leaves=30),
)


def _mutate(data, path, action, value):
    parent = data
    for seg in path[:-1]:
        parent = parent[seg]
    if not path:
        return value if action == "replace" else data
    key = path[-1]
    if action == "replace":
        parent[key] = value
    elif action == "delete":
        del parent[key]
    elif action == "add_key" and isinstance(parent[key], dict):
        parent[key]["zz_" + str(value)[:10]] = value
    elif action == "wrap":
        parent[key] = [parent[key]]
    return data


@settings(max_examples=600, deadline=10_000, suppress_health_check=list(HealthCheck))
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["replace", "delete", "add_key", "wrap"]),
                  hostile_values),
        min_size=1, max_size=3,
    )
)
def test_random_mutations_give_a_config_or_a_one_line_config_error(mutations):
    data = copy.deepcopy(BASE)
    for path, action, value in mutations:
        try:
            data = _mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    try:
        validate_config(data)
    except ConfigError as err:
        assert "\n" not in str(err)


# YAML text as a user (or an attacker) might type it: anchors and aliases, deep nesting,
# odd scalars, tabs, control characters, truncation. 400 examples here + 600 mutations above.
BASE_TEXT = DEFAULT_CONFIG.read_text()

yaml_fragments = st.one_of(
    st.sampled_from([
        "a: &x [1, 2]\nb: *x\n", "&a [*a]\n", "x: *undefined\n", "{" * 200 + "}" * 200, "[" * 3000,
        "- - - - - - - - - - - - -\n" * 50, "!!python/object:os.system ls\n", "? [a, b]\n: c\n",
        "name: !!binary aGVsbG8=\n", "\t\tname: tabs\n", "name: \x00\x07\n", "units: 1e999\n",
        "geometry: {radius: .nan}\n", "mesh: {size: -.inf}\n", "key: 2001-12-14t21:59:43.10-05:00\n",
        "<<: {name: merged}\n", "a: &a {b: &b {c: *a}}\n", "%YAML 1.1\n---\nname: x\n...\n---\nname: y\n",
    ]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
)


@settings(max_examples=400, deadline=10_000, suppress_health_check=list(HealthCheck))
@given(fragment=yaml_fragments, cut=st.integers(min_value=0, max_value=len(BASE_TEXT)),
       position=st.sampled_from(["replace", "append", "truncate", "insert"]))
def test_random_yaml_text_gives_a_config_or_a_one_line_config_error(fragment, cut, position):
    from solver.config.yamlio import parse_yaml

    text = {"replace": fragment, "append": BASE_TEXT + "\n" + fragment, "truncate": BASE_TEXT[:cut],
            "insert": BASE_TEXT[:cut] + fragment + BASE_TEXT[cut:]}[position]
    try:
        validate_config(parse_yaml(text, "fuzz.yaml"))
    except ConfigError as err:
        assert "\n" not in str(err)
