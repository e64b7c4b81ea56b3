"""Config loading: every validation error names its key path in one line."""

from __future__ import annotations

import math

import pydantic
import pytest
import yaml

from conftest import DEFAULT_CONFIG, run_cli, write_yaml
from solver.config import (
    config_hash,
    config_to_yaml,
    library_materials,
    load_config,
    validate_config,
)
from solver.config.keypath import apply_overrides, parse_path
from solver.config.schema import Insulated, VoltageTerminal
from solver.materials.laws import ArrheniusLaw
from solver.errors import ConfigError


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_default_config_loads_with_library_materials():
    config = load_config(DEFAULT_CONFIG)
    assert config.name == "default"
    assert [layer.name for layer in config.geometry.layers] == [
        "bottom_electrode", "oxide", "cmo", "top_electrode"]
    assert isinstance(config.materials["TaOx"].electrical_conductivity, ArrheniusLaw)
    assert isinstance(config.thermal.outer, Insulated)
    assert isinstance(config.electrical.top, VoltageTerminal)
    assert config.length_scale == 1e-9


def test_resolved_yaml_round_trips_to_the_same_config_and_hash():
    config = load_config(DEFAULT_CONFIG)
    again = validate_config(yaml.safe_load(config_to_yaml(config)))
    assert again == config
    assert config_hash(again) == config_hash(config)


def test_config_is_immutable():
    config = load_config(DEFAULT_CONFIG)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        config.geometry.radius = 5  # type: ignore[misc]


def test_user_material_property_replaces_the_library_law(default_raw):
    default_raw["materials"] = {"TaOx": {"seebeck": -1e-4}}
    config = validate_config(default_raw)
    assert config.materials["TaOx"].seebeck.value == -1e-4
    assert config.materials["TaOx"].thermal_conductivity.value == 1.0  # kept from the library


def test_every_library_number_cites_a_source():
    for name, material in library_materials().items():
        for key, law in material.items():
            if key == "description":
                continue
            assert isinstance(law, dict) and law.get("source"), f"{name}.{key} has no source"


@pytest.mark.parametrize(
    "path, value, expected",
    [
        ("geometry.layers[1].filament.radius", 3, 3.0),
        ("analysis.kind", "transient", "transient"),
        ("mesh.size", "2.5", 2.5),
        ("sweep.voltage", "{values: [0.5, 1.0]}", (0.5, 1.0)),
    ],
)
def test_set_override_is_yaml_typed(path, value, expected):
    config = load_config(DEFAULT_CONFIG, [f"{path}={value}"])
    node = config
    for seg in parse_path(path):
        node = node[seg] if isinstance(seg, int) else getattr(node, seg)
    if path == "sweep.voltage":
        node = node.values
    assert node == expected


# --------------------------------------------------------------- one error per mistake

CASES = [
    # (description, mutate raw data, expected key path, expected words)
    ("unknown top-level key", lambda d: d.update(geometri={}), "geometri", "unknown key"),
    ("unknown nested key", lambda d: d["geometry"]["layers"][1]["filament"].update(radus=3),
     "geometry.layers[1].filament.radus", "unknown key"),
    ("unknown key in a law", lambda d: d.setdefault("materials", {}).update(
        TaOx={"seebeck": {"law": "constant", "value": 1e-4, "vaule": 2}}),
     "materials.TaOx.seebeck.vaule", "unknown key"),
    ("wrong type", lambda d: d["geometry"].update(radius="wide"), "geometry.radius", "valid number"),
    ("wrong type bool", lambda d: d["mesh"].update(size=True), "mesh.size", "valid number"),
    ("infinite length", lambda d: d["geometry"].update(radius=math.inf), "geometry.radius", "finite"),
    ("nan thickness", lambda d: d["geometry"]["layers"][0].update(thickness=math.nan),
     "geometry.layers[0].thickness", "finite"),
    ("negative thickness", lambda d: d["geometry"]["layers"][2].update(thickness=-1),
     "geometry.layers[2].thickness", "greater than 0"),
    ("zero radius", lambda d: d["geometry"].update(radius=0), "geometry.radius", "greater than 0"),
    ("missing radius", lambda d: d["geometry"].pop("radius"), "geometry.radius", "required key missing"),
    ("missing thickness", lambda d: d["geometry"]["layers"][0].pop("thickness"),
     "geometry.layers[0].thickness", "required key missing"),
    ("filament wider than the cell", lambda d: d["geometry"]["layers"][1]["filament"].update(radius=150),
     "geometry.layers[1].filament.radius", "cell radius"),
    ("top radius <= 0", lambda d: d["geometry"]["layers"][1]["filament"].update(top_radius=0),
     "geometry.layers[1].filament.top_radius", "greater than 0"),
    ("filament taller than its layer", lambda d: d["geometry"]["layers"][1]["filament"].update(height=6),
     "geometry.layers[1].filament.height", "exceeds"),
    ("unknown material", lambda d: d["geometry"]["layers"][2].update(material="Unobtainium"),
     "geometry.layers[2].material", "unknown material"),
    ("unknown filament material", lambda d: d["geometry"]["layers"][1]["filament"].update(material="x"),
     "geometry.layers[1].filament.material", "unknown material"),
    ("unknown law", lambda d: d.setdefault("materials", {}).update(
        TaOx={"electrical_conductivity": {"law": "linear", "value": 1}}),
     "materials.TaOx.electrical_conductivity", "law must be one of"),
    ("missing law parameter", lambda d: d.setdefault("materials", {}).update(
        TaOx={"electrical_conductivity": {"law": "arrhenius", "value": 1e4}}),
     "materials.TaOx.electrical_conductivity.activation_energy", "required key missing"),
    ("non-positive conductivity", lambda d: d.setdefault("materials", {}).update(
        HfOx={"thermal_conductivity": -0.5}),
     "materials.HfOx.thermal_conductivity", "positive"),
    ("table not increasing", lambda d: d.setdefault("materials", {}).update(
        HfOx={"thermal_conductivity": {"law": "table", "T": [400, 300], "value": [1, 2]}}),
     "materials.HfOx.thermal_conductivity.T", "increasing"),
    ("heat capacity missing for transient", lambda d: (
        d["analysis"].update(kind="transient"),
        d.setdefault("materials", {}).update(my_oxide={"electrical_conductivity": 1.0,
                                                       "thermal_conductivity": 1.0}),
        d["geometry"]["layers"][2].update(material="my_oxide")),
     "materials.my_oxide.heat_capacity", "transient"),
    ("pulse missing for transient", lambda d: (d["analysis"].update(kind="transient"),
                                               d["analysis"].pop("pulse")),
     "analysis.pulse", "required"),
    ("probe in an unknown layer", lambda d: d["probes"]["active"].update(layer="nowhere"),
     "probes.active.layer", "no layer"),
    ("probe outside the radius", lambda d: d["probes"]["active"].update(r_max=500),
     "probes.active.r_max", "outside"),
    ("probe above its layer", lambda d: d["probes"]["active"].update(z_max=50),
     "probes.active.z_max", "outside"),
    ("empty layer list", lambda d: d["geometry"].update(layers=[]), "geometry.layers", "at least 1"),
    ("sweep num < 1", lambda d: d["sweep"]["voltage"].update(num=0), "sweep.voltage.num",
     "greater than or equal to 1"),
    ("unknown length unit", lambda d: d.update(units="furlong"), "units", "'nm'"),
    ("unknown thermal boundary", lambda d: d["thermal"].update(outer="adiabatic"), "thermal.outer",
     "expected"),
    ("negative series resistance", lambda d: d["electrical"]["top"].update(series_resistance=-1),
     "electrical.top.series_resistance", "greater than or equal to 0"),
    ("name escaping results", lambda d: d.update(name="../etc"), "name", "pattern"),
    ("duplicate layer names", lambda d: d["geometry"]["layers"][2].update(name="oxide"),
     "geometry.layers[2].name", "used twice"),
    ("kinetics probe unknown", lambda d: d["kinetics"].update(probe="elsewhere"), "kinetics.probe",
     "no probe"),
    ("sweep parameter path missing", lambda d: d["sweep"].update(
        parameters={"geometry.layers[9].thickness": [1, 2]}), "sweep.parameters", "out of range"),
    ("sweep parameter value invalid", lambda d: d["sweep"].update(
        parameters={"geometry.layers[1].filament.radius": [3, 500]}),
     "geometry.layers[1].filament.radius", "cell radius"),
]


@pytest.mark.parametrize("description, mutate, path, words", CASES, ids=[c[0] for c in CASES])
def test_validation_error_names_the_key_path(default_raw, description, mutate, path, words):
    mutate(default_raw)
    message = error_of(default_raw)
    assert f"{path}:" in message, message
    assert words in message, message


def test_malformed_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngeometry: {radius: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: malformed YAML: line \d+"):
        load_config(bad)


def test_duplicate_yaml_key_is_rejected(tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text(DEFAULT_CONFIG.read_text() + "\nunits: um\n")
    with pytest.raises(ConfigError, match="duplicate key 'units'"):
        load_config(bad)


def test_yaml_alias_bomb_is_rejected_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="expands to more than"):
        load_config(bomb)


def test_recursive_alias_is_rejected(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.write_text("a: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="refers to itself"):
        load_config(loop)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    "assignment, words",
    [
        ("geometry.radius", "expected key=value"),
        ("geometry..radius=3", "cannot parse"),
        ("geometry.layers[7].thickness=3", "out of range"),
        ("geometry.radius.x=3", "not a mapping"),
        ("geometry.radius=[1, 2", "malformed YAML"),
        ("geometry.radius=", "empty value"),
    ],
)
def test_bad_set_is_a_config_error(default_raw, assignment, words):
    with pytest.raises(ConfigError, match=words.replace("[", r"\[")):
        apply_overrides(default_raw, [assignment])


def test_cli_bad_input_is_one_line_exit_2(tmp_path, default_raw):
    default_raw["geometry"]["layers"][1]["filament"]["radius"] = -3
    cfg = write_yaml(tmp_path / "bad.yaml", default_raw)
    result = run_cli("config", str(cfg))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "geometry.layers[1].filament.radius" in result.stderr
    result = run_cli("config", str(DEFAULT_CONFIG), "--set", "mesh.size")
    assert result.returncode == 2 and "--set" in result.stderr


def test_cli_config_prints_the_resolved_yaml():
    result = run_cli("config", str(DEFAULT_CONFIG), "--set", "units=um")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["units"] == "um" and "TiN" in data["materials"]


def test_cli_version_names_the_stack():
    result = run_cli("--version")
    assert result.returncode == 0
    for name in ("filatherm", "dolfinx", "petsc", "gmsh", "python"):
        assert name in result.stdout


def test_law_parameters_without_law_adjust_the_library_law(default_raw):
    default_raw["materials"] = {"TaOx": {"electrical_conductivity": {"value": 123.0}}}
    sigma = validate_config(default_raw).materials["TaOx"].electrical_conductivity
    library = library_materials()["TaOx"]["electrical_conductivity"]
    assert isinstance(sigma, ArrheniusLaw) and sigma.value == 123.0
    assert sigma.activation_energy == library["activation_energy"]
