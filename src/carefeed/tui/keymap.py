"""Keys from ``config.toml``: ``[reader.keys]`` gives an action new keys.

.. code-block:: toml

    [reader.keys]
    star = "S"            # S stars, s no longer does
    down = "n,down"       # several keys: comma-separated
    palette = "ctrl+k"

The names are the reader's actions (:data:`ACTIONS`); the keys are Textual key names
(``a``, ``S``, ``ctrl+s``, ``f5``, ``pagedown``, ``question_mark`` or ``?``). They become
Textual's keymap (``App.set_keymap``: binding id → keys), so the footer, the help screen
and the command palette show the keys in effect. A bad entry never stops the reader: it
is left out and reported in one line when the reader starts (:func:`build_keymap`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from textual.binding import Binding, BindingType
from textual.keys import KEY_TO_UNICODE_NAME, Keys, _character_to_key, format_key, key_to_character

# action name in config.toml -> the ids of the bindings it moves (one action may be bound
# in several widgets: j moves in the list, the sidebar and the post alike)
ACTIONS: dict[str, tuple[str, ...]] = {
    "down": ("list.down", "sidebar.down", "post.down"),
    "up": ("list.up", "sidebar.up", "post.up"),
    "page_down": ("list.page_down", "post.page_down"),
    "page_up": ("list.page_up",),
    "first": ("list.first",),
    "last": ("list.last",),
    "open": ("list.open",),
    "next_pane": ("main.next_pane",),
    "previous_pane": ("main.prev_pane",),
    "tags": ("main.tags",),
    "search": ("main.search",),
    "unread": ("main.unread",),
    "read": ("main.read",),
    "star": ("main.star",),
    "comments": ("main.comments",),
    "browser": ("main.open",),
    "poll": ("main.poll",),
    "add": ("main.add", "welcome.add"),
    "import": ("main.import", "welcome.import_file"),
    "import_bundled": ("main.import_bundled", "welcome.import"),
    "errors": ("main.errors",),
    "clear": ("main.clear",),
    "back": ("main.back",),
    "help": ("app.help",),
    "palette": ("app.palette",),
}

# keys Textual keeps for itself (App.BINDINGS, Screen.BINDINGS)
RESERVED = {"ctrl+q": "always quits", "ctrl+c": "copies the selected text"}
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED = (
    frozenset(k.value for k in Keys if not k.value.startswith("<"))  # not <any> etc.
    | frozenset(KEY_TO_UNICODE_NAME)
    | {
        "slash",
        "backslash",
        "at",
        "minus",
        "plus",
        "underscore",
        "comma",
        "apostrophe",
        "colon",
        "semicolon",
        "asterisk",
        "ampersand",
        "tilde",
    }
)


def _binding_classes() -> list[Iterable[BindingType]]:
    # imported here: app.py imports this module, and the widgets import the app's types
    from carefeed.tui.app import CarefeedApp
    from carefeed.tui.screens.main import MainScreen
    from carefeed.tui.screens.welcome import WelcomeScreen
    from carefeed.tui.widgets.entry_list import EntryList
    from carefeed.tui.widgets.post_view import PostView
    from carefeed.tui.widgets.sidebar import Sidebar

    classes = (CarefeedApp, MainScreen, WelcomeScreen, EntryList, Sidebar, PostView)
    return [c.BINDINGS for c in classes]


def default_keys() -> dict[str, str]:
    """Binding id -> its keys as written in the code ("j,down")."""
    found: dict[str, str] = {}
    for bindings in _binding_classes():
        for binding in bindings:
            if isinstance(binding, Binding) and binding.id is not None:
                found.setdefault(binding.id, binding.key)
    return found


def normalize(keys: str) -> list[str]:
    """``"S, ?"`` -> ``["S", "question_mark"]`` (Textual's own key names)."""
    out = []
    for key in keys.split(","):
        key = key.strip()
        out.append(_character_to_key(key) if len(key) == 1 else key)
    return out


def is_key(key: str) -> bool:
    """Is ``key`` (one, normalised) a key Textual can report?"""
    if not key:
        return False
    *mods, base = key.split("+")
    if any(m not in MODIFIERS for m in mods):
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    return base in _NAMED or key_to_character(base) is not None


def display(keys: Iterable[str]) -> str:
    """Keys as people read them: ``["j", "down"]`` -> ``"j ↓"``, ``question_mark`` ->
    ``?``, ``ctrl+p`` stays ``ctrl+p``."""
    shown = []
    for key in keys:
        *mods, base = key.split("+")
        text = "enter" if base == "enter" else format_key(base)
        shown.append("+".join([*mods, text]))
    return " ".join(shown)


@dataclass
class KeyConfig:
    """The keymap for ``App.set_keymap``, the keys in effect per action, the complaints."""

    keymap: dict[str, str] = field(default_factory=dict)
    effective: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def keys_for(self, action: str) -> str:
        """What to press for ``action``, for the help screen and the palette."""
        return display(self.effective.get(action, []))


def build_keymap(
    pairs: Iterable[tuple[str, str]], defaults: Mapping[str, str] | None = None
) -> KeyConfig:
    """Check ``[reader.keys]`` and turn it into Textual's keymap.

    An unknown action, a key Textual does not know, or a key that another action keeps
    (``star = "r"`` while ``read`` is still ``r``) leaves that entry out, with a reason."""
    defaults = default_keys() if defaults is None else defaults
    default_of = {name: normalize(defaults[ids[0]]) for name, ids in ACTIONS.items()}
    config = KeyConfig()
    chosen: dict[str, list[str]] = {}
    written: dict[str, str] = {}
    for name, value in pairs:
        if name not in ACTIONS:
            near = difflib.get_close_matches(name, list(ACTIONS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            config.errors.append(f"unknown action {name!r}{hint}")
            continue
        keys = [k for k in normalize(value) if k]
        bad = [k for k in normalize(value) if not is_key(k)]
        if bad or not keys:
            config.errors.append(f"{name} = {value!r}: {bad[0] if bad else value!r} is not a key")
            continue
        taken = [k for k in keys if k in RESERVED]
        if taken:
            config.errors.append(f"{name} = {value!r}: {taken[0]} {RESERVED[taken[0]]}")
            continue
        chosen[name] = list(dict.fromkeys(keys))
        written[name] = value
    while True:
        effective = {name: chosen.get(name, keys) for name, keys in default_of.items()}
        owner: dict[str, str] = {}
        clash: tuple[str, str, str] | None = None
        for name, keys in effective.items():
            for key in keys:
                other = owner.setdefault(key, name)
                if other != name:
                    clash = (key, other, name)
                    break
            if clash:
                break
        if clash is None:
            break
        key, first, second = clash
        if second in chosen:
            dropped, kept = second, first
        elif first in chosen:
            dropped, kept = first, second
        else:  # two defaults share a key: the code's to fix, not the user's
            break
        config.errors.append(
            f"{dropped} = {written[dropped]!r}: "
            f"{display([key])} is already {kept}'s key, so {dropped} stays "
            f"{display(default_of[dropped])}"
        )
        del chosen[dropped]
    config.effective = effective
    for name, keys in chosen.items():
        for binding_id in ACTIONS[name]:
            config.keymap[binding_id] = ",".join(keys)
    return config
