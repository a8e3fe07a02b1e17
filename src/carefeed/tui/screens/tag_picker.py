"""The ``t`` picker: social care topics first, then tags (OPML folders) and blog
categories as the blogs spell them; type to narrow.

Enter applies the highlighted name, or the set ticked with space (several combine: posts
filed under all of them). Names are feed text, so every prompt is ``Content`` from
:mod:`carefeed.tui.render`. Topics and categories load on a pool thread (their totals are
a GROUP BY over every post); tags are already known from the sidebar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from carefeed.model import LabelCount
from carefeed.tui import render

TOPIC = "topic"


@dataclass(frozen=True)
class Picked:
    """What the picker applies: canonical topics and raw tags/categories, all ANDed."""

    topics: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


class TagPicker(ModalScreen[Picked | None]):
    """Pick one topic, tag or category (enter), or several (space, then enter)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("space", "tick", "Tick", id="picker.tick"),
        Binding("backspace", "erase", "Erase", show=False, id="picker.erase"),
    ]

    def __init__(
        self,
        tags: list[LabelCount],
        categories: list[LabelCount] | None,
        *,
        topics: list[LabelCount] | None = None,
        selected: tuple[str, ...] = (),
        selected_topics: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.tags = tags
        self.categories = categories
        self.topics = topics
        # (is a topic, name): a topic and a category may share a name ("Carers")
        self.checked: list[tuple[bool, str]] = [(True, t) for t in selected_topics] + [
            (False, t) for t in selected
        ]
        self.query_text = ""
        self.shown: list[tuple[LabelCount, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(Content("Topics, tags and categories"), id="picker-title")
            yield Static("", id="picker-query", markup=False)
            yield OptionList(id="picker-list", markup=False)
            yield Static(
                Content("type to narrow · space ticks · enter applies · escape cancels"),
                id="picker-hint",
            )

    def on_mount(self) -> None:
        self.rebuild()
        self.query_one(OptionList).focus()

    def set_categories(
        self, categories: list[LabelCount], topics: list[LabelCount] | None = None
    ) -> None:
        self.categories = categories
        if topics is not None:
            self.topics = topics
        if self.query(OptionList):  # else on_mount builds the list
            self.rebuild()

    def items(self) -> list[tuple[LabelCount, str]]:
        """Topics that have posts first, then tags, then categories; a name that is
        both a tag and a category is listed once."""
        seen: dict[str, int] = {}
        items: list[tuple[LabelCount, str]] = [
            (topic, TOPIC) for topic in self.topics or () if topic.total
        ]
        for tag in self.tags:
            seen[tag.name.casefold()] = len(items)
            items.append((tag, "tag"))
        for category in self.categories or ():
            at = seen.get(category.name.casefold())
            if at is not None:
                items[at] = (items[at][0], "tag · category")
                continue
            seen[category.name.casefold()] = len(items)
            items.append((category, "category"))
        return items

    @staticmethod
    def _key(item: LabelCount, kind: str) -> tuple[bool, str]:
        return (kind == TOPIC, item.name.casefold())

    def rebuild(self, *, from_top: bool = False) -> None:
        """List what matches the typed text; ``from_top`` (the text changed) highlights
        the best match, the first, instead of keeping the row the cursor was on."""
        needle = self.query_text.casefold()
        checked = {(is_topic, name.casefold()) for is_topic, name in self.checked}
        self.shown = [(item, kind) for item, kind in self.items() if needle in item.name.casefold()]
        options = [
            Option(
                render.picker_item(item, kind, self._key(item, kind) in checked, self.query_text)
            )
            for item, kind in self.shown
        ]
        box = self.query_one(OptionList)
        keep = None if from_top else box.highlighted
        box.set_options(options)
        if options:
            box.highlighted = min(keep or 0, len(options) - 1) if keep is not None else 0
        query = self.query_one("#picker-query", Static)
        loading = "" if self.categories is not None else "   (loading topics and categories…)"
        ticked = f"   ticked: {len(self.checked)}" if self.checked else ""
        query.update(
            Content.assemble(
                ("Filter: ", ".cf--muted"),
                (render.clean(self.query_text, max_len=60) + "▏", "bold"),
                (f"   {len(self.shown)} shown{ticked}{loading}", ".cf--muted"),
            )
        )

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character and event.character != " ":
            self.query_text += event.character
            event.stop()
            event.prevent_default()
            self.rebuild(from_top=True)

    def action_erase(self) -> None:
        if self.query_text:
            self.query_text = self.query_text[:-1]
            self.rebuild(from_top=True)

    def _highlighted(self) -> tuple[LabelCount, str] | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]

    def action_tick(self) -> None:
        highlighted = self._highlighted()
        if highlighted is None:
            return
        key = self._key(*highlighted)
        folded = [(is_topic, name.casefold()) for is_topic, name in self.checked]
        if key in folded:
            del self.checked[folded.index(key)]
        else:
            self.checked.append((key[0], highlighted[0].name))
        self.rebuild()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = list(self.checked)
        if not chosen:
            highlighted = self._highlighted()
            if highlighted is None:
                self.dismiss(None)
                return
            chosen = [(highlighted[1] == TOPIC, highlighted[0].name)]
        self.dismiss(
            Picked(
                topics=tuple(name for is_topic, name in chosen if is_topic),
                tags=tuple(name for is_topic, name in chosen if not is_topic),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
