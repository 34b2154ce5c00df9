"""Screens shown over the trainer: the help and the dialog to type a setting."""
