"""Access monitoring: who looked at which patient record, and was there a reason to."""
