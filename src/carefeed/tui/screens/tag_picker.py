"""The ``t`` picker: tags (OPML folders) and blog categories, type to narrow.

Enter applies the highlighted name, or the set ticked with space (several combine: posts
filed under all of them). Names are feed text, so every prompt is ``Content`` from
:mod:`carefeed.tui.render`. Categories load on a pool thread (their totals are a GROUP BY
over every post); tags are already known from the sidebar.
"""

from __future__ import annotations

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


class TagPicker(ModalScreen[tuple[str, ...] | None]):
    """Pick one tag or category (enter), or several (space, then enter)."""

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
        selected: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.tags = tags
        self.categories = categories
        self.checked: list[str] = list(selected)
        self.query_text = ""
        self.shown: list[tuple[LabelCount, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(Content("Tags and categories"), id="picker-title")
            yield Static("", id="picker-query", markup=False)
            yield OptionList(id="picker-list", markup=False)
            yield Static(
                Content("type to narrow · space ticks · enter applies · escape cancels"),
                id="picker-hint",
            )

    def on_mount(self) -> None:
        self.rebuild()
        self.query_one(OptionList).focus()

    def set_categories(self, categories: list[LabelCount]) -> None:
        self.categories = categories
        self.rebuild()

    def items(self) -> list[tuple[LabelCount, str]]:
        """Tags first, then categories; a name that is both is listed once."""
        seen: dict[str, int] = {}
        items: list[tuple[LabelCount, str]] = []
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

    def rebuild(self) -> None:
        needle = self.query_text.casefold()
        checked = {c.casefold() for c in self.checked}
        self.shown = [(item, kind) for item, kind in self.items() if needle in item.name.casefold()]
        options = [
            Option(render.picker_item(item, kind, item.name.casefold() in checked, self.query_text))
            for item, kind in self.shown
        ]
        box = self.query_one(OptionList)
        keep = box.highlighted
        box.set_options(options)
        if options:
            box.highlighted = min(keep or 0, len(options) - 1) if keep is not None else 0
        query = self.query_one("#picker-query", Static)
        loading = "" if self.categories is not None else "   (loading categories…)"
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
            self.rebuild()

    def action_erase(self) -> None:
        if self.query_text:
            self.query_text = self.query_text[:-1]
            self.rebuild()

    def _highlighted(self) -> LabelCount | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index][0]

    def action_tick(self) -> None:
        item = self._highlighted()
        if item is None:
            return
        folded = [c.casefold() for c in self.checked]
        if item.name.casefold() in folded:
            del self.checked[folded.index(item.name.casefold())]
        else:
            self.checked.append(item.name)
        self.rebuild()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.checked:
            self.dismiss(tuple(self.checked))
            return
        item = self._highlighted()
        self.dismiss((item.name,) if item is not None else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
