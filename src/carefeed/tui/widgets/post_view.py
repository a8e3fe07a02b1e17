"""The post pane: header, the text of the post, then the comments section and its tree.

Three ``Static`` widgets fed ``Content`` from :mod:`carefeed.tui.render` (never a str,
so markup in a post is just text). The body is plain text already (text.html_to_text at
ingest: paragraphs, "• " lists, "> " quotes, "[n]" references listed at the end).

The comments are a :class:`CommentTree`: each comment a node labelled ``Author · 3h``,
its text as leaves under it, then the replies to it, so a thread folds with enter or
space. Labels are Rich ``Text`` built by render.py: a ``str`` label would be parsed as
markup (HOSTILE.md F5), so the tree refuses to treat one as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from carefeed.comments import CommentNode, build_tree
from carefeed.model import Comment, Entry
from carefeed.tui import render

TEXT_WIDTH = 72  # a comment's text wraps here, less its indentation


class CommentTree(Tree[int]):
    """A post's comments as a thread; node data is the comment id (None for text lines)."""

    DEFAULT_CSS = """
    CommentTree {
        height: auto;
        max-height: 100%;
        background: $background;
        padding: 0;
    }
    """

    def process_label(self, label: str | Text) -> Text:
        # Everything reaching here is already Text from render.py; a str is taken
        # literally rather than parsed as markup, should one ever slip through.
        text = Text(label) if isinstance(label, str) else label
        return text.split()[0] if text.plain else text


class PostView(VerticalScroll, can_focus=True):
    """One post, readable; j/k and space scroll it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="post.down"),
        Binding("k", "scroll_up", "Up", show=False, id="post.up"),
        Binding("space", "page_down", "Page down", show=False, id="post.page_down"),
    ]

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.entry: Entry | None = None
        self.comments: list[Comment] = []
        self.comment_error: str | None = None
        self.fetching = False
        self._new_ids: frozenset[int] = frozenset()
        self._wrapped_at: int | None = None  # the text width the tree was filled for

    def compose(self) -> ComposeResult:
        yield Static(render.empty_post(True), id="post-header")
        yield Static("", id="post-body", markup=False)
        yield Static("", id="post-comments", markup=False)
        tree = CommentTree(Text("Comments"), id="comment-tree")
        tree.show_root = False
        tree.display = False
        yield tree

    @property
    def comment_tree(self) -> CommentTree:
        return self.query_one(CommentTree)

    def show(self, entry: Entry | None, *, has_feeds: bool = True) -> None:
        """Show ``entry`` (None: the empty state) from its top."""
        same = entry is not None and self.entry is not None and entry.id == self.entry.id
        self.entry = entry
        header = self.query_one("#post-header", Static)
        body = self.query_one("#post-body", Static)
        comments = self.query_one("#post-comments", Static)
        if not same:
            self.comments = []
            self.comment_error = None
            self.fetching = False
            self.comment_tree.clear()
            self.comment_tree.display = False
        if entry is None:
            from carefeed.tui.app import CarefeedApp  # the app imports this widget

            app = self.app
            keys = app.keys.keys_for if isinstance(app, CarefeedApp) else None
            header.update(render.empty_post(has_feeds, keys))
            body.update("")
            comments.update("")
            body.display = comments.display = False
            return
        header.update(render.post_header(entry, self.clock()))
        if not same:
            body.update(render.post_body(entry))
            self.scroll_home(animate=False)
        self._update_heading()
        body.display = comments.display = True

    def _update_heading(self) -> None:
        if self.entry is None:
            return
        self.query_one("#post-comments", Static).update(
            render.post_comments(
                self.entry,
                shown=len(self.comments),
                new=self.entry.new_comments,
                error=self.comment_error,
                fetching=self.fetching,
            )
        )

    def set_comments(
        self,
        entry_id: int,
        comments: Sequence[Comment],
        *,
        error: str | None = None,
        fetching: bool = False,
        new_ids: Collection[int] = (),
    ) -> None:
        """Fill the tree with ``comments`` of post ``entry_id`` (ignored if another post is
        shown by now); the tree keeps which threads were folded."""
        if self.entry is None or self.entry.id != entry_id:
            return
        folded = self._folded()
        self.comment_error = error
        self.fetching = fetching
        changed = [c.id for c in comments] != [c.id for c in self.comments] or new_ids
        self.comments = list(comments)
        self._new_ids = frozenset(new_ids)
        self._update_heading()
        tree = self.comment_tree
        tree.display = bool(comments)
        if not changed:
            return
        self._fill_tree(folded)

    def _pane_width(self) -> int:
        """The columns comment text may use: the pane's, less the vertical scrollbar
        even before it shows (the tree itself may be what makes it appear)."""
        width = self.scrollable_content_region.width
        if width and not self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        return width if width > 0 else TEXT_WIDTH

    def on_resize(self) -> None:
        """The pane changed width (terminal resized, layout narrowed): wrap again."""
        if self.comments and self._wrapped_at != min(TEXT_WIDTH, self._pane_width()):
            self._fill_tree(self._folded())

    def _fill_tree(self, folded: set[int]) -> None:
        tree = self.comment_tree
        cursor = tree.cursor_node.data if tree.cursor_node is not None else None
        tree.clear()
        now = self.clock()
        # wrap to the pane as it is now (a narrow pane cut lines off; on_resize wraps
        # again); the tree's guides take 4 cells a level
        pane = min(TEXT_WIDTH, self._pane_width())
        self._wrapped_at = pane
        new_ids = self._new_ids
        at: TreeNode[int] | None = None
        stack: list[tuple[TreeNode[int], CommentNode, int]] = [
            (tree.root, node, 0) for node in reversed(build_tree(self.comments))
        ]
        while stack:
            parent, node, depth = stack.pop()
            comment = node.comment
            branch = parent.add(
                render.comment_label(comment, now, new=comment.id in new_ids),
                data=comment.id,
                expand=comment.id not in folded,
            )
            if cursor is not None and comment.id == cursor:
                at = branch
            width = max(20, pane - 4 * (depth + 1) - 2)
            for line in render.comment_lines(comment.text, width):
                branch.add_leaf(line)
            stack.extend((branch, child, depth + 1) for child in reversed(node.replies))
        tree.root.expand()
        if at is not None:  # the cursor stays on its comment (lines are laid out later)
            tree.call_after_refresh(tree.move_cursor, at)

    def _folded(self) -> set[int]:
        folded: set[int] = set()
        stack = list(self.comment_tree.root.children)
        while stack:
            node = stack.pop()
            if node.data is not None and not node.is_expanded:
                folded.add(node.data)
            stack.extend(node.children)
        return folded

    def focus_comments(self) -> bool:
        """Move to the comments: into the tree when there are some; False when none."""
        heading = self.query_one("#post-comments", Static)
        self.scroll_to_widget(heading, animate=False, top=True)
        if self.comments:
            tree = self.comment_tree
            tree.focus()
            if tree.cursor_line < 0:
                tree.cursor_line = 0
            return True
        self.focus()
        return False
