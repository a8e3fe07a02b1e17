"""The reader's screens: the main one and the modals it opens."""
