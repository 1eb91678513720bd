"""The bridge's work: sending, importing messages, importing profiles, the URL index."""
