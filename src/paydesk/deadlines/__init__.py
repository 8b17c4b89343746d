"""What happens when time runs out: unpaid orders that expire, and manual-capture
authorizations that would lapse before anyone captures them (the worker runs both)."""
