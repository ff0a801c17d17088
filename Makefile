# closokit — set-up, demo, tests, benchmarks. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-closokit

.PHONY: demo test bench lint docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(VENV)/bin/xrdkit demo --out demo_output

test: $(STAMP)
	PYBAMM_DISABLE_TELEMETRY=true OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n 2 --durations=20

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; OPENBLAS_NUM_THREADS=1 $(PY) $$f || exit 1; done

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 OPENBLAS_NUM_THREADS=1 $(VENV)/bin/mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(VENV)/bin/ruff check xrdkit irkit tests benchmarks

clean:
	rm -rf $(VENV) demo_output .pytest_cache
