"""One module per surface of the console; each registers its routes on ``admin_bp``."""
