"""Model cards: the README.md of a checkpoint directory and of a Hub repo, generated from config.json.

A card is built with the Hub's own classes, ``huggingface_hub.ModelCard`` and ``ModelCardData``, so its
metadata is what the Hub reads: ``library_name: maskgen``, ``license``, ``tags``, ``pipeline_tag``,
``datasets`` (the built-in procedural sets it was trained on; none for a user's own images),
``base_model`` (a run fine-tuned from a Hub checkpoint) and ``model-index`` with the metrics measured
for these weights (none measured: no model-index). The text then says what was trained and how: the
method and augmenter or translator, what it was trained on, resolution, kimg, the metrics with the
feature network each was computed with, a sample grid, which file holds what (the inference weights
alone in ``model.safetensors``), the maskgen and plugin versions, and a citation block for the paper
and the method. A GAN checkpoint that carries an upscaler (``upscaler/``, the cascade's second stage)
says so: the sizes it draws and the upscaler's own facts, read from the upscaler's config.json (passed
in as a dict). An upscaler checkpoint (kind ``upscaler``) gets its own card.

Metrics come from ``metrics.json`` in the checkpoint directory (the JSON ``maskgen eval --json`` writes),
or from the run's ``eval.json`` when that was computed for this very checkpoint. Nothing is invented: a
card without metrics says so. What a checkpoint was trained on comes from config.json: a built-in set
(``train.data`` builtin, builtin-detailed, ...) or, for a folder drawn with ``maskgen dataset synth``
(the shipped base GANs), the record ``data_source: {"sets": [...]}`` written beside it; anything else is
the user's own images, license ``other``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from maskgen.artifacts.layout import METRICS_FILE, MODEL_FILE, SAMPLES_FILE, TRAINING_WEIGHTS_FILE
from maskgen.artifacts.lineage import describe_lineage
from maskgen.config import describe_options
from maskgen.errors import MaskgenError
from maskgen.outputs import atomic_write
from maskgen.plugins.interfaces import PluginKind
from maskgen.plugins.methods import method_citation, method_description, method_label, split_stack

UPSCALER = (
    "upscaler"  # the kind of an upscaler checkpoint, and the sub-folder of a GAN checkpoint holding one
)
PAPER_BIBTEX = """@article{yan2023pekingopera,
  title   = {Intelligent generation of Peking opera facial masks with deep learning frameworks},
  author  = {Yan, M. and Xiong, R. and Shen, Y. and Jin, C. and Wang, Y.},
  journal = {Heritage Science},
  volume  = {11},
  year    = {2023},
  doi     = {10.1186/s40494-023-00865-z}
}"""

# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


def find_metrics(checkpoint_dir: Path) -> dict[str, Any] | None:
    """``metrics.json`` of the checkpoint, else the run's ``eval.json`` if it was computed for it."""
    own = checkpoint_dir / METRICS_FILE
    if own.is_file():
        return _read_json(own)
    # checkpoints live in RUN/checkpoints/<snapshot>; eval.json names the checkpoint it measured.
    for run_eval in (checkpoint_dir.parent.parent / "eval.json", checkpoint_dir.parent / "eval.json"):
        data = _read_json(run_eval) if run_eval.is_file() else None
        measured = (data or {}).get("report_key", {}).get("checkpoint")
        if measured and _same_path(Path(measured), checkpoint_dir):
            return data
    return None


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None  # an unreadable metrics file must not block a checkpoint or a push
    return data if isinstance(data, dict) else None


def metric_rows(metrics: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(label, value, feature network) for every metric with a numeric value."""
    if not metrics:
        return []
    entries = metrics.get("metrics", metrics)
    default_features = metrics.get("features")
    rows = []
    for key, entry in entries.items() if isinstance(entries, dict) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), (int, float)):
            continue
        network = entry.get("feature_network") or entry.get("classifier")
        if network is None and key in ("fid", "kid"):
            network = default_features
        rows.append((str(entry.get("label", key)), f"{entry['value']:.4g}", str(network or "— (pixels)")))
    return rows


# --------------------------------------------------------------------------------------------------
# What it was trained on
# --------------------------------------------------------------------------------------------------

# maskgen's data names (``--data``) -> the style of ``maskgen dataset synth --style``.
BUILTIN_STYLES = {
    "builtin": "simple",
    "builtin-detailed": "detailed",
    "builtin-photographed": "photographed",
    "builtin-varied": "varied",
    "builtin-varied-mix": "varied-mix",
}
BUILTIN_MIX = "builtin-mix"  # the upscaler's: detailed and photographed masks together


def dataset_id(data: str) -> str:
    """The name a card's ``datasets`` gives a built-in set: ``maskgen-builtin-detailed``. Not a Hub
    dataset: maskgen draws the set itself, the same masks on every machine."""
    return f"maskgen-{data}"


def training_sets(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The built-in procedural sets a checkpoint was trained on, each ``{"data", "style"}`` plus
    ``count``, ``size``, ``seed`` and ``command`` where known; [] when it was trained on other images.

    A folder drawn with ``maskgen dataset synth`` is a folder to the trainer; its config says what is
    in it with ``data_source: {"sets": [{"data": "builtin-detailed", "count": 3000, ...}]}``.
    """
    recorded = config.get("data_source")
    if isinstance(recorded, dict) and isinstance(recorded.get("sets"), list):
        sets = [dict(item) for item in recorded["sets"] if isinstance(item, dict) and item.get("data")]
        return [item | {"style": BUILTIN_STYLES.get(str(item["data"]), "?")} for item in sets]
    train = config.get("train") or {}
    data = str(train.get("data", "builtin")).strip().lower()
    size = train.get("resolution") or config.get("size")
    known = {"count": train.get("dataset_count"), "size": size, "seed": train.get("dataset_seed")}
    if data in BUILTIN_STYLES:
        return [{"data": data, "style": BUILTIN_STYLES[data], **known}]
    if data == BUILTIN_MIX:
        return [
            {"data": name, "style": BUILTIN_STYLES[name], "size": size, "seed": known["seed"]}
            for name in ("builtin-detailed", "builtin-photographed")
        ]
    return []


def default_license(config: dict[str, Any]) -> str:
    """Apache-2.0 for weights trained on maskgen's own procedural masks only (the built-in sets, or a
    folder recorded as drawn by ``maskgen dataset synth``); 'other' for a user's images."""
    return "apache-2.0" if training_sets(config) else "other"


def _training_data_section(config: dict[str, Any], license_id: str) -> str:
    sets = training_sets(config)
    dataset = config.get("dataset") or {}
    lines = ["## Training data", ""]
    if not sets:
        images = dataset.get("images")
        lines += [
            f"Images supplied by whoever trained it: {dataset.get('name', 'an image folder')}"
            + (f", {images} images" if images is not None else "")
            + ". maskgen does not know where they came from or under what terms; the license below"
            + (
                " is `other` until their owner sets one."
                if license_id == "other"
                else " was set by its owner."
            ),
            "",
        ]
        return "\n".join(lines) + "\n"
    lines.append(
        "maskgen's own procedural masks, drawn by maskgen's mask generator from random seeds (the "
        "`photographed` style renders them as if photographed): no real photograph or collected image is "
        "among them, and anyone with maskgen can draw the same set again. They are not a Hub dataset; "
        "the card's `datasets` entries name them:"
    )
    lines.append("")
    for item in sets:
        facts = [f"`{item['style']}` style"]
        if item.get("count") is not None:
            facts.append(f"{item['count']} masks")
        if item.get("size") is not None:
            facts.append(f"{item['size']} px")
        if item.get("seed") is not None:
            facts.append(f"seed {item['seed']}")
        line = f"- `{dataset_id(str(item['data']))}`: " + ", ".join(facts)
        if item.get("command"):
            line += f" (`{item['command']}`)"
        lines.append(line)
    if dataset.get("name"):
        lines += ["", f"The trainer's own name for them: {dataset['name']}."]
    return "\n".join(lines) + "\n\n"


# --------------------------------------------------------------------------------------------------
# The card
# --------------------------------------------------------------------------------------------------

# The metadata keys in the order a reader looks for them.
_KEY_ORDER = ("library_name", "license", "tags", "pipeline_tag", "datasets", "base_model", "model-index")


def _pipeline_tag(config: dict[str, Any]) -> str:
    return (
        "image-to-image"
        if config.get("kind") in ("translation", UPSCALER)
        else "unconditional-image-generation"
    )


def _tags(config: dict[str, Any], upscaler: dict[str, Any] | None) -> list[str]:
    train = config.get("train", {})
    tags = ["maskgen", "peking-opera", "facial-masks"]
    if config.get("kind") == "translation":
        tags += ["image-to-image", "exemplar-based-translation", str(config.get("translator", "translator"))]
    elif config.get("kind") == UPSCALER:
        tags += ["image-to-image", "super-resolution", str(config.get("upscaler", UPSCALER))]
    else:
        generation = (
            "class-conditional-image-generation" if _classes(config) else "unconditional-image-generation"
        )
        tags += ["gan", str(train.get("generator", "stylegan2")), generation]
        tags += [part for part in split_stack(train.get("augment", "none")) if part != "none"]
        if upscaler:
            tags += ["super-resolution", "cascade"]
    return list(dict.fromkeys(tags))


def _evaluated_on(metrics: dict[str, Any]) -> tuple[str, str]:
    """(dataset type, dataset name) of the real images a run was measured against (model-index)."""
    real = metrics.get("real") if isinstance(metrics.get("real"), dict) else {}
    source = str(real.get("source", "")).strip().lower()
    count, size = real.get("count"), real.get("size")
    facts = [text for text in (f"{count} images" if count else "", f"{size} px" if size else "") if text]
    amount = f" ({', '.join(facts)})" if facts else ""
    if source in BUILTIN_STYLES or source == BUILTIN_MIX:
        return dataset_id(source), f"maskgen {source}{amount}"
    return "imagefolder", f"real images{amount}"  # a user's folder: its path is theirs, not the card's


def eval_results(config: dict[str, Any], metrics: dict[str, Any] | None) -> list[Any]:
    """``huggingface_hub.EvalResult`` for every metric with a numeric value (the card's model-index)."""
    from huggingface_hub import EvalResult

    if not metrics:
        return []
    entries = metrics.get("metrics", metrics)
    dataset_type, dataset_name = _evaluated_on(metrics)
    results = []
    for key, entry in entries.items() if isinstance(entries, dict) else []:
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        network = entry.get("feature_network") or entry.get("classifier")
        if network is None and key in ("fid", "kid"):
            network = metrics.get("features")
        results.append(
            EvalResult(
                task_type=_pipeline_tag(config),
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                metric_type=str(key),
                metric_value=float(value),
                metric_name=str(entry.get("label", key)),
                metric_config=str(network) if network else None,
            )
        )
    return results


def card_data(
    config: dict[str, Any],
    license_id: str | None = None,
    upscaler: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    model_name: str | None = None,
) -> Any:
    """The ``huggingface_hub.ModelCardData`` of a checkpoint: what the Hub reads from the card."""
    from huggingface_hub import ModelCardData

    init = config.get("init_source")
    sets = training_sets(config)
    name = model_name or _title(config, upscaler)
    results = eval_results(config, metrics)
    return ModelCardData(
        library_name="maskgen",
        license=license_id or default_license(config),
        tags=_tags(config, upscaler),
        pipeline_tag=_pipeline_tag(config),
        datasets=list(dict.fromkeys(dataset_id(str(item["data"])) for item in sets)) or None,
        # Only a Hub model can be a base_model; a shipped base:NAME is named in the card's text.
        base_model=init["repo"] if isinstance(init, dict) and init.get("repo") else None,
        eval_results=results or None,
        model_name=name if results else None,
    )


def front_matter(
    config: dict[str, Any],
    license_id: str | None = None,
    upscaler: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    model_name: str | None = None,
) -> dict[str, Any]:
    """The YAML metadata block the Hub reads, as a dict (``model-index`` included)."""
    data = card_data(config, license_id, upscaler, metrics, model_name).to_dict()
    return {key: data[key] for key in _KEY_ORDER if key in data} | data


def _classes(config: dict[str, Any]) -> list[str]:
    """The classes of a class-conditional GAN checkpoint (config.json ``cond.classes``), else []."""
    cond = config.get("cond")
    classes = cond.get("classes") if isinstance(cond, dict) else None
    return [str(c) for c in classes] if isinstance(classes, list) else []


def _title(config: dict[str, Any], upscaler: dict[str, Any] | None = None) -> str:
    """The card's heading: method and sizes ("StyleGAN2 + ADA: Peking opera facial masks, 64 px")."""
    if config.get("kind") == "translation":
        label = method_label(str(config.get("translator", "translator")), "translator")
        size = config.get("size", config.get("train", {}).get("size", "?"))
        return f"{label} translator: Peking opera facial masks, {size} px"
    if config.get("kind") == UPSCALER:
        name = str(config.get("upscaler", UPSCALER))
        small, size = config.get("small_size", "?"), config.get("size", "?")
        return f"{method_label(name, UPSCALER)}: Peking opera facial masks, {small} -> {size} px"
    method, _ = _method(config.get("train", {}))
    resolution = config.get("train", {}).get("resolution", "?")
    large = (upscaler or {}).get("size")
    return f"{method}: Peking opera facial masks, {resolution} px" + (f" and {large} px" if large else "")


def model_card(
    config: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    sample_image: str | None = None,
    repo_id: str | None = None,
    revision: str | None = None,
    license_id: str | None = None,
    with_training_state: bool = False,
    base_model: bool = False,
    upscaler: dict[str, Any] | None = None,
    reference: str | None = None,
    training_networks: list[str] | None = None,
) -> str:
    """README.md text for a checkpoint whose config.json is ``config``, made with ``huggingface_hub``'s
    ModelCard, so the Hub's parser reads it back.

    ``base_model``: a base model shipped in maskgen (its training weights cut to D, its usage through
    ``reference``, e.g. ``base:NAME``, since it is not on the Hub); ``upscaler``: the config.json of the
    upscaler a GAN checkpoint carries in ``upscaler/``; ``training_networks``: the networks in
    training_weights.safetensors (default: what a run of this kind saves there; [] for none).
    """
    from huggingface_hub import ModelCard
    from huggingface_hub.utils import yaml_dump

    upscaler = upscaler if upscaler and config.get("kind") not in ("translation", UPSCALER) else None
    model_name = repo_id.rsplit("/", 1)[-1] if repo_id else None
    meta = front_matter(config, license_id, upscaler, metrics, model_name)
    ref = reference or _reference(repo_id, revision)
    if config.get("kind") == "translation":
        body = _translation_body(config, sample_image, ref)
    elif config.get("kind") == UPSCALER:
        body = _upscaler_body(config, sample_image, ref)
    else:
        body = _gan_body(config, sample_image, ref, upscaler)
    if base_model:
        body += _shipped_section(ref)
    body += _training_data_section(config, meta["license"])
    body += _metrics_section(metrics)
    networks = _training_networks(config, base_model) if training_networks is None else training_networks
    body += _files_section(config, sample_image, metrics, with_training_state, networks, upscaler)
    body += _versions_section(config, meta["license"], upscaler)
    body += _citation_section(config, upscaler)
    text = "---\n" + yaml_dump(meta, sort_keys=False) + "---\n\n" + body
    return str(ModelCard(text))  # the Hub's parser: a card it would refuse fails here, not on the Hub


def _shipped_section(reference: str) -> str:
    return (
        "## Where it lives\n\n"
        f"This model ships inside the maskgen package (`maskgen models` lists it); use it as `{reference}`. "
        "It is not published on the Hugging Face Hub.\n\n"
    )


def _reference(repo_id: str | None, revision: str | None) -> str:
    if repo_id is None:
        return "hf://OWNER/REPO@REVISION"
    return f"hf://{repo_id}" + (f"@{revision}" if revision else "")


def _method(train: dict[str, Any]) -> tuple[str, list[str]]:
    parts = split_stack(train.get("augment", "none"))
    augmenters = [method_label(p, "augmenter") for p in parts if p != "none"]
    generator = method_label(str(train.get("generator", "stylegan2")), "generator")
    return (f"{generator} + {'+'.join(augmenters)}" if augmenters else generator), parts


def _gan_body(
    config: dict[str, Any], sample: str | None, ref: str, upscaler: dict[str, Any] | None = None
) -> str:
    train = config.get("train", {})
    method, parts = _method(train)
    resolution = train.get("resolution", "?")
    dataset = config.get("dataset", {})
    images = dataset.get("images")
    kimg = config.get("kimg")
    kimg_text = f"{float(kimg):.3f}" if isinstance(kimg, (int, float)) else "?"
    plugins = config.get("plugins", {})
    augment_versions = plugins.get("augment", {}) if isinstance(plugins.get("augment"), dict) else {}
    classes = _classes(config)
    conditional = f", conditional on colour character ({', '.join(classes)})," if classes else ""
    large = (upscaler or {}).get("size")
    lines = [
        f"# {_title(config, upscaler)}",
        "",
        f"A maskgen checkpoint: a {method} generator{conditional} trained at "
        f"{resolution}×{resolution} px for {kimg_text} kimg on {dataset.get('name', 'an unnamed dataset')}.",
        "",
    ]
    if upscaler:
        lines += [
            f"It carries its upscaler (`{UPSCALER}/`), the second stage of maskgen's cascade: the generator "
            f"decides each mask at {resolution} px and a learned {upscaler.get('scale', '?')}x upscaler "
            f"draws it at {large} px. It draws {resolution} and {large} px masks ({large} px by default).",
            "",
        ]
    if sample:
        count = int(train.get("grid_size", 8)) ** 2
        lines += [f"![Samples of the EMA generator, seeds 0-{count - 1}]({sample})", ""]
    lines += [
        "## Use",
        "",
        "```bash",
        "pip install maskgen" + "".join(f" {_dist(v)}" for v in augment_versions.values() if _dist(v)),
        f"maskgen generate --checkpoint {ref} --seeds 0-15"
        + (f" --size {large}" if large else "")
        + " --out masks.png",
    ]
    if large:
        lines.append(f"maskgen generate --checkpoint {ref} --seeds 0-15 --size {resolution} --out small.png")
    if classes:
        lines.append(
            f"maskgen generate --checkpoint {ref} --class {classes[0]} --seeds 0-15 --out {classes[0]}.png"
        )
    lines += [
        f"maskgen run --init {ref} --data MY_MASKS/"
        + (" --cond" if classes else "")
        + "   # fine-tune G, D and G_ema on your images",
        "```",
        "",
        "The same seed gives the same mask; `--truncation 0.7` trades variety for typical masks.",
        "",
    ]
    if classes:
        turns = f"seed s is drawn as class s mod {len(classes)} ({', '.join(classes)} in turn)"
        lines += [f"Without `--class`, {turns}.", ""]
    lines += [
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| method | {method} |",
        f"| generator | `{train.get('generator', 'stylegan2')}` ({plugins.get('generator', '?')}) |",
    ]
    for part in parts:
        description = method_description(part, "augmenter", default="plugin augmenter")
        version = augment_versions.get(part, "?")
        lines.append(f"| augmenter | `{part}`: {description} ({version}) |")
    lines += [
        f"| dataset | {dataset.get('name', '?')}"
        + (f", {images} images" if images is not None else "")
        + (" (with mirrored copies)" if train.get("xflip") else "")
        + " |",
        f"| resolution | {resolution} px |",
        f"| training length | {kimg_text} kimg (thousands of real images shown to D) |",
        f"| batch, seed | {train.get('batch', '?')}, {train.get('seed', '?')} |",
    ]
    if classes:
        counts = (config.get("cond") or {}).get("images_per_class")
        shown = (
            ", ".join(f"{c} {n}" for c, n in zip(classes, counts, strict=False))
            if isinstance(counts, list)
            else ", ".join(classes)
        )
        lines.append(
            f"| conditioning | conditional on colour character: {shown} (G: one-hot through the mapping "
            "network; D: projection) |"
        )
    options = train.get("generator_options") or {}
    projected = (
        "projected (Sauer et al. 2021): D sees through maskgen's frozen eye, a feature network trained "
        "without labels on the built-in masks; only its heads were trained"
    )
    kind = options.get("discriminator")
    if kind in ("projected", "both"):
        judged = projected if kind == "projected" else f"StyleGAN2's D and a {projected}; their logits add"
        lines.append(f"| discriminator | {judged} |")
    if options:
        lines.append(
            "| generator options | " + ", ".join(f"{k}={v}" for k, v in sorted(options.items())) + " |"
        )
    init = config.get("init_source")
    if isinstance(init, dict):
        lines.append(f"| fine-tuned from | `{init.get('reference')}` (commit `{init.get('commit')}`) |")
    elif train.get("init") and str(train["init"]).lower() != "none":
        lines.append(f"| fine-tuned from | `{train['init']}` |")
    kept = _fine_tuning_terms(train)
    if kept:
        lines.append(f"| fine-tuning | {kept} |")
    history = describe_lineage(config)
    if history:
        lines.append(f"| training history | {history} |")
    recipe = config.get("fine_tuning")
    if isinstance(recipe, dict) and recipe:
        lines.append(
            f"| fine-tuning from it | {describe_options(recipe)}: what a new run starting from it takes, "
            "unless its own config sets them |"
        )
    if upscaler:
        lines += [f"| sizes | {resolution} px (the generator), {large} px (through its upscaler) |"]
        lines += _upscaler_rows(upscaler)
    lines += ["", "The full configuration is in `config.json` (`train`)"]
    lines[-1] += f" and `{UPSCALER}/config.json`." if upscaler else "."
    lines.append("")
    return "\n".join(lines) + "\n"


def _fine_tuning_terms(train: dict[str, Any]) -> str:
    """What a fine-tune kept of the model it started from (FreezeD, FreezeG, the correspondence term):
    these change what the model can draw, so a reader of the card should see them beside its origin."""
    terms = []
    freeze_g = int(train.get("freeze_g") or 0)
    if freeze_g:
        sizes = [f"{4 * 2**i}" for i in range(freeze_g - 1)]
        noun = "block" if len(sizes) == 1 else "blocks"
        blocks = f" and its {_joined(sizes)} px synthesis {noun}" if sizes else ""
        kept = "kept as they were" if sizes else "kept as it was"
        colours = (
            ", the blocks' toRGB layers learning (freeze_g_to_rgb false)"
            if sizes and train.get("freeze_g_to_rgb") is False
            else ""
        )
        terms.append(f"G's mapping network{blocks} {kept} (freeze_g {freeze_g}){colours}")
    freeze_d = int(train.get("freeze_d") or 0)
    resolution = int(train.get("resolution") or 0)
    if freeze_d and resolution:
        sizes = [f"{resolution >> i}" for i in range(freeze_d)]
        terms.append(f"D's {_joined(sizes)} px blocks kept as they were (FreezeD, freeze_d {freeze_d})")
    cdc = float(train.get("cdc_weight") or 0)
    if cdc:
        terms.append(f"cross-domain correspondence term at weight {cdc:g} (cdc_weight)")
    return "; ".join(terms)


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _upscaler_rows(config: dict[str, Any]) -> list[str]:
    """Table rows with an upscaler's own facts: plugin, scale, length, data and where it started."""
    train = config.get("train") or {}
    name = str(config.get("upscaler", "?"))
    kimg = config.get("kimg")
    kimg_text = f"{float(kimg):.3f}" if isinstance(kimg, (int, float)) else "?"
    dataset = config.get("dataset") or {}
    images = dataset.get("images")
    rows = [
        f"| upscaler | `{name}` {config.get('scale', '?')}x, {config.get('small_size', '?')} -> "
        f"{config.get('size', '?')} px ({config.get('plugin', '?')}) |",
        f"| upscaler training length | {kimg_text} kimg of crops |",
        f"| upscaler trained on | {dataset.get('name', '?')}"
        + (f", {images} images" if images is not None else "")
        + " |",
    ]
    init = config.get("init_source")
    if isinstance(init, dict):
        rows.append(
            f"| upscaler fine-tuned from | `{init.get('reference')}` (commit `{init.get('commit')}`) |"
        )
    elif train.get("init") and str(train["init"]).lower() != "none":
        rows.append(f"| upscaler fine-tuned from | `{train['init']}` |")
    else:
        rows.append("| upscaler fine-tuned from | nothing: trained from scratch |")
    history = describe_lineage(config)
    if history:
        rows.append(f"| upscaler training history | {history} |")
    return rows


def _upscaler_body(config: dict[str, Any], sample: str | None, ref: str) -> str:
    """An upscaler checkpoint's own card (pushed by itself, not inside a GAN checkpoint)."""
    small, size, scale = config.get("small_size", "?"), config.get("size", "?"), config.get("scale", "?")
    lines = [
        f"# {_title(config)}",
        "",
        f"A maskgen upscaler, the second stage of maskgen's cascade: it draws a {small} px mask at {size} px "
        f"({scale}x). It was trained on spoiled small inputs, so it takes GAN samples, not only clean "
        "downsamples.",
        "",
    ]
    if sample:
        lines += [f"![Small input, bilinear, upscaled and real for fixed crops]({sample})", ""]
    lines += [
        "## Use",
        "",
        "```bash",
        "pip install maskgen" + (f" {_dist(config.get('plugin'))}" if _dist(config.get("plugin")) else ""),
        f"maskgen upscale apply --checkpoint {ref} SMALL.png --out large/",
        f"maskgen generate --checkpoint GAN_CHECKPOINT --upscaler {ref} --size {size} --out masks.png",
        "```",
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        *_upscaler_rows(config),
        "",
        "The full configuration is in `config.json`.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _translation_body(config: dict[str, Any], sample: str | None, ref: str) -> str:
    translator = str(config.get("translator", "translator"))
    label = method_label(translator, "translator")
    size = config.get("size", config.get("train", {}).get("size", "?"))
    dataset = config.get("dataset", {})
    kimg = config.get("kimg")
    kimg_text = f"{float(kimg):.3f}" if isinstance(kimg, (int, float)) else "?"
    features = config.get("features")
    feature_text = features.get("name", features) if isinstance(features, dict) else features
    lines = [
        f"# {_title(config)}",
        "",
        f"A maskgen exemplar-based translator ({label}): a face sketch "
        "and a colour reference mask in, a new mask out.",
        "",
    ]
    if sample:
        lines += [f"![Sketch, reference, warped reference and output for fixed pairs]({sample})", ""]
    lines += [
        "## Use",
        "",
        "```bash",
        "pip install maskgen" + (f" {_dist(config.get('plugin'))}" if _dist(config.get("plugin")) else ""),
        f"maskgen translate apply --checkpoint {ref} --sketch S.png --reference R.png --out O.png",
        "```",
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| translator | `{translator}` ({config.get('plugin', '?')}) |",
        f"| dataset | {dataset.get('name', '?')}"
        + (f", {dataset['images']} images" if dataset.get("images") is not None else "")
        + " |",
        f"| size | {size} px |",
        f"| training length | {kimg_text} kimg |",
        f"| perceptual features | {feature_text or '?'} |",
        "",
        "The full configuration is in `config.json`.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _metrics_section(metrics: dict[str, Any] | None) -> str:
    rows = metric_rows(metrics)
    if not rows:
        return (
            "## Metrics\n\nNo metrics were recorded with this checkpoint. `maskgen eval` computes FID/KID, "
            "SSIM, MS-SSIM and LPIPS; put its JSON output in the checkpoint folder as `metrics.json` "
            "and they appear here.\n\n"
        )
    lines = ["## Metrics", "", "| metric | value | feature network |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {network} |" for label, value, network in rows]
    real = (metrics or {}).get("real")
    fake = (metrics or {}).get("fake")
    if real or fake:
        lines += ["", f"Real images: {_describe(real)}. Generated images: {_describe(fake)}."]
    lines += ["", "Values depend on the feature network they were computed with; compare like with like.", ""]
    return "\n".join(lines) + "\n"


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k} {v}" for k, v in item.items() if isinstance(v, (str, int, float)))
    return str(item or "?")


# What the inference file holds, by checkpoint kind, and what each training network is.
_INFERENCE_TEXT = {
    "translation": "T, the translator (sketch and reference in, mask out)",
    UPSCALER: "U_ema, the averaged upscaler",
}
_FINE_TUNE_COMMAND = {"translation": "maskgen translate train", UPSCALER: "maskgen upscale train"}
_NETWORK_TEXT = {
    "G": "G (the generator as trained; G_ema is its running average)",
    "D": "D (the discriminator)",
    "U": "U (the upscaler as trained)",
}


def _training_networks(config: dict[str, Any], base_model: bool) -> list[str]:
    """What training_weights.safetensors holds in a checkpoint of this kind, by default."""
    if base_model or config.get("kind") == "translation":
        return ["D"]
    return ["U", "D"] if config.get("kind") == UPSCALER else ["G", "D"]


def _files_section(
    config: dict[str, Any],
    sample: str | None,
    metrics: dict[str, Any] | None,
    with_state: bool,
    training_networks: list[str],
    upscaler: dict[str, Any] | None = None,
) -> str:
    inference = _INFERENCE_TEXT.get(str(config.get("kind")), "G_ema, the averaged generator")
    lines = [
        "## Files",
        "",
        f"- `{MODEL_FILE}`: {inference}: all that drawing needs, and all of the weights that "
        "a pull to draw (`maskgen pull`, `maskgen generate` from the Hub) downloads",
    ]
    if training_networks:
        networks = " and ".join(_NETWORK_TEXT.get(n, n) for n in training_networks)
        g_from_ema = "G" not in training_networks and config.get("kind") == "gan"
        command = _FINE_TUNE_COMMAND.get(str(config.get("kind")), "maskgen run")
        lines.append(
            f"- `{TRAINING_WEIGHTS_FILE}`: {networks}: what fine-tuning (`{command} --init`) starts "
            "from besides the inference weights"
            + (" (G starts as G_ema)" if g_from_ema else "")
            + "; downloaded only for that, or by `maskgen pull --for fine-tune`"
        )
    lines.append(
        "- `config.json`: everything needed to rebuild the model: architecture, sizes, plugin names and "
        "versions"
    )
    if sample:
        lines.append(f"- `{sample}`: the sample grid at the time of the checkpoint")
    if metrics:
        lines.append(f"- `{METRICS_FILE}`: the metrics above, as computed")
    if with_state:
        lines.append(
            "- `training_state.safetensors`, `training_state.json`: optimizer, augmenter and RNG state "
            "(`maskgen run --resume`; `maskgen pull --for all`)"
        )
    if upscaler:
        lines.append(
            f"- `{UPSCALER}/`: the upscaler (`model.safetensors`: its U_ema weights; `config.json`; its own "
            "card and contact sheet where present)"
        )
    lines += ["", "Weights are safetensors only; loading checks every tensor's name and shape."]
    return "\n".join(lines) + "\n\n"


def _versions_section(config: dict[str, Any], license_id: str, upscaler: dict[str, Any] | None = None) -> str:
    from maskgen import __version__

    plugins = config.get("plugins") or {}
    used = []
    if isinstance(plugins, dict):
        if plugins.get("generator"):
            used.append(str(plugins["generator"]))
        augment = plugins.get("augment")
        if isinstance(augment, dict):
            used += [str(v) for v in augment.values()]
    for source in (config, upscaler or {}):
        if source.get("plugin"):
            used.append(str(source["plugin"]))
    lines = [
        "## Versions and license",
        "",
        f"- trained with maskgen {config.get('maskgen_version', '?')}; card written by maskgen {__version__}",
        "- plugins: " + (", ".join(f"`{u}`" for u in dict.fromkeys(used)) or "none recorded"),
        f"- license of these weights: `{license_id}`"
        + (
            " (trained on images maskgen did not make: set the license that their terms allow)"
            if license_id == "other"
            else " (trained on maskgen's own procedural masks)"
            if training_sets(config)
            else ""
        ),
        "",
    ]
    return "\n".join(lines) + "\n"


def _citation_section(config: dict[str, Any], upscaler: dict[str, Any] | None = None) -> str:
    """The paper's BibTeX, then each method's, as its plugin declares it."""
    methods: list[tuple[str, PluginKind]] = []
    if config.get("kind") == "translation":
        methods.append((str(config.get("translator", "")), "translator"))
    elif config.get("kind") == UPSCALER:
        methods.append((str(config.get("upscaler", "")), "upscaler"))
    else:
        train = config.get("train", {})
        methods.append((str(train.get("generator", "stylegan2")), "generator"))
        methods += [(part, "augmenter") for part in split_stack(train.get("augment", "none"))]
        if upscaler:
            methods.append((str(upscaler.get("upscaler", "")), "upscaler"))
    blocks = [PAPER_BIBTEX]
    for name, kind in dict.fromkeys(m for m in methods if m[0] and m[0] != "none"):
        citation = method_citation(name, kind)
        if citation:
            blocks.append(citation)
    return "## Citation\n\n```bibtex\n" + "\n\n".join(blocks) + "\n```\n"


def _dist(spec: Any) -> str | None:
    """'maskgen-ada==0.1.0' -> 'maskgen-ada' (what to pip install); None for maskgen itself."""
    if not isinstance(spec, str) or "==" not in spec:
        return None
    name = spec.split("==", 1)[0]
    return None if name in ("maskgen", "direct", "unknown") else name


def attach_samples(grid: Path, checkpoint_dir: Path) -> bool:
    """Copy a sample grid into a checkpoint as ``samples.png`` (atomically: no half-written PNG);
    False when it cannot be written: the samples are optional, a checkpoint without them is complete."""
    try:
        atomic_write(checkpoint_dir / SAMPLES_FILE, lambda tmp: shutil.copyfile(grid, tmp))
    except MaskgenError:
        return False
    return True
