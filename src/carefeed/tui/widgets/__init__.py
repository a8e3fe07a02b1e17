"""The reader's widgets, one per region of the main screen."""
