"""What the shell offers on TAB for option values (``maskgen --install-completion`` sets it up).

Names come from where maskgen itself looks them up (the plugin registry, the shipped base models), so
an installed third-party augmenter completes like ADA. A completer returns ``[]`` when it has nothing
to say: the shell then completes file names as usual.
"""

from __future__ import annotations

from maskgen.artifacts.base_models import BASE_SCHEME, list_base_models, read_base_config
from maskgen.artifacts.hub_pull import SCHEME as HUB_SCHEME
from maskgen.plugins import get_registry
from maskgen.plugins.methods import STACK_SEPARATOR


def _augmenters() -> list[tuple[str, str]]:
    return [(spec.name, spec.summary) for spec in get_registry().specs("augmenter")]


def _complete_names(incomplete: str, separators: str) -> list[tuple[str, str]]:
    """Augmenter names for the part after the last separator, the parts before it kept."""
    cut = max(incomplete.rfind(sep) for sep in separators) + 1
    head, tail = incomplete[:cut], incomplete[cut:]
    # A stack names each augmenter once: 'apa+<TAB>' does not offer apa again.
    last_list_item = head.rsplit(",", 1)[-1]
    taken = {part.strip() for part in last_list_item.split(STACK_SEPARATOR)}
    offered = [(name, summary) for name, summary in _augmenters() if name not in taken]
    return [(head + name, summary) for name, summary in offered if name.startswith(tail)]


def complete_augment_stack(incomplete: str) -> list[tuple[str, str]]:
    """``maskgen run --augment``: one augmenter, or a stack such as ``apa+ada``."""
    return _complete_names(incomplete, STACK_SEPARATOR)


def complete_augment_list(incomplete: str) -> list[tuple[str, str]]:
    """``maskgen compare --augment``: stacks separated by commas, e.g. ``none,ada,apa+ada``."""
    return _complete_names(incomplete, STACK_SEPARATOR + ",")


def complete_checkpoint(incomplete: str) -> list[tuple[str, str]]:
    """``base:NAME`` of the shipped models and ``hf://NAME`` of the plugins' named checkpoints, once the
    scheme is typed; folders otherwise (bash splits words at ':', so there only folders complete)."""
    if incomplete.startswith(BASE_SCHEME):
        offered = []
        for directory in list_base_models(kind=None):
            kind = (read_base_config(directory) or {}).get("kind", "")
            offered.append((BASE_SCHEME + directory.name, f"shipped {kind} model"))
        return [(ref, summary) for ref, summary in offered if ref.startswith(incomplete)]
    if incomplete.startswith(HUB_SCHEME):
        named = get_registry().pretrained_checkpoints()
        return [
            (HUB_SCHEME + name, f"{target} ({distribution})")
            for name, (target, distribution) in sorted(named.items())
            if (HUB_SCHEME + name).startswith(incomplete)
        ]
    return []
