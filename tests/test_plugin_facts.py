"""Every fact about a method comes from its plugin: a third-party augmenter (the template's ``noise``)
shows its own label and citation in list-plugins, model cards and compare reports, with no core change."""

from __future__ import annotations

import json

import pytest

import maskgen
from maskgen.apps.compare import RunSummary, metrics_table, references_section
from maskgen.artifacts.modelcard import model_card
from maskgen.cli.main import app
from maskgen.config import resolve_config
from maskgen.plugins import get_registry
from maskgen.plugins.methods import method_label, split_stack

TEMPLATE_LABEL = "Instance noise"
TEMPLATE_CITE_KEY = "sonderby2017instancenoise"


@pytest.fixture
def noise_spec():
    specs = {spec.name: spec for spec in get_registry().specs("augmenter")}
    if "noise" not in specs:
        pytest.fail("the template plugin (examples/augment-plugin-template) is not installed")
    return specs["noise"]


def test_the_template_declares_its_facts(noise_spec) -> None:
    assert noise_spec.label == TEMPLATE_LABEL
    assert noise_spec.citation and TEMPLATE_CITE_KEY in noise_spec.citation
    assert noise_spec.distribution == "maskgen-augment-template"


def test_list_plugins_shows_label_and_citation(cli, noise_spec) -> None:
    table = cli.invoke(app, ["list-plugins"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert f"noise ({TEMPLATE_LABEL})" in table.stdout and f"[cite: {TEMPLATE_CITE_KEY}]" in table.stdout
    rows = json.loads(cli.invoke(app, ["list-plugins", "--json"]).stdout)["plugins"]
    noise = next(r for r in rows if r["name"] == "noise")
    assert noise["label"] == TEMPLATE_LABEL and noise["citation"] == noise_spec.citation


def test_model_card_uses_the_plugin_label_and_citation(noise_spec) -> None:
    config = {
        "kind": "gan",
        "train": resolve_config({}, augment="ada+noise").model_dump(),
        "plugins": {"augment": {"noise": "maskgen-augment-template==0.1.0"}},
    }
    card = model_card(config)
    assert "# StyleGAN2 + ADA+Instance noise:" in card
    assert noise_spec.description in card
    assert noise_spec.citation in card and "karras2020ada" in card


def test_compare_report_uses_the_plugin_label_and_citation(noise_spec, tmp_path) -> None:
    runs = [
        RunSummary(augment, 0, tmp_path / augment, resolve_config({}, augment=augment), metrics={"fid": 1.0})
        for augment in ("none", "noise")
    ]
    rows = [line.split("|")[1].strip() for line in metrics_table(runs)[2:]]
    assert rows == ["StyleGAN2", TEMPLATE_LABEL]
    references = "\n".join(references_section(runs))
    assert TEMPLATE_LABEL in references and noise_spec.citation in references


def test_stack_names_parse_in_one_place() -> None:
    assert split_stack(" apa + ada ") == ["apa", "ada"]
    assert split_stack("ada") == ["ada"]
    assert method_label("apa+ada") == "APA+ADA"
    assert method_label("not-installed") == "not-installed"  # a run whose plugin is gone keeps its name


def test_plugin_author_api() -> None:
    from maskgen.augment.adaptive import SignHeuristicAugmenter
    from maskgen.plugins import hookspecs, interfaces

    assert maskgen.hookimpl is hookspecs.hookimpl and maskgen.Augmenter is interfaces.Augmenter
    assert maskgen.SignHeuristicAugmenter is SignHeuristicAugmenter
    with pytest.raises(AttributeError):
        _ = maskgen.no_such_thing
