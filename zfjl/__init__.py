"""zfjl (执法记录): evidence vault and compliance checker for administrative law enforcement."""

__version__ = "0.1.0"
