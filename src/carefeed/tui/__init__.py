"""The reader: a Textual app over the cache (``carefeed`` with no command).

Layout and the rules it keeps (issue 3):

* feed text reaches Textual only through :mod:`carefeed.tui.render` (as ``Content``);
* the post list is a virtual Line-API list over keyset pages, so 100,000 cached posts
  paint as fast as ten;
* SQLite calls that can take more than a few milliseconds (counts, search, the sidebar's
  totals) run on :class:`~carefeed.tui.queries.QueryPool` threads with their own
  connections, never on the UI thread;
* the network is touched only by the poll and add-feed workers; reading never waits on it.
"""
