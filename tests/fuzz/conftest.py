"""The hypothesis profile of the fuzz tests: bounded and reproducible (the same
examples on every run, the failing one printed as a blob to replay)."""

from hypothesis import settings

settings.register_profile("fleetcheck", max_examples=150, deadline=None, derandomize=True,
                          print_blob=True)
settings.load_profile("fleetcheck")
