"""The rush benchmark's baseline: the booking view a team would ship first with this stack (not the product)."""
