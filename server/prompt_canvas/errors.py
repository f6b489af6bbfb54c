"""The base of every error whose message is meant for the user (no traceback needed)."""


class UserError(Exception):
    """Something the user can fix; ``str(error)`` says what and how."""
