"""The health watchdog: probes, a no-flapping state machine, and notifying even while PostgreSQL is down."""
