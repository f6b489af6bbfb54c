"""Prompt Canvas: turn short ideas into full image prompts, in your editor and on the command line."""

__version__ = "0.1.0"
