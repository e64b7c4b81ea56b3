# The README's two quick-start commands are `make run` and `make test`; both set up first.
VENV   := .venv
PY     := $(VENV)/bin/python
CONFIG ?= configs/default.yaml

.PHONY: setup run test bench test-compat clean

setup:
	@scripts/setup.sh

run: setup
	$(VENV)/bin/filatherm run $(CONFIG)

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) scripts/bench.py

# The suite without its slow tests (they run once, in `make test`) inside cached Debian 13
# (DOLFINx 0.9) and unstable (0.11) chroots; needs root.
test-compat:
	scripts/test-compat.sh all -- -m "not slow"

clean:
	rm -rf results/* meshes/* .pytest_cache
	touch results/.gitkeep meshes/.gitkeep
