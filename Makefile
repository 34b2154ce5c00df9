# Kepler: `make run` launches the app, `make test` runs every test, `make bench` the benchmarks,
# `make mutate` mutation testing of the engine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench mutate setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/kepler

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_tui.py
	$(BIN)/python benchmarks/bench_serve.py

# Mutation testing (mutmut 3; slow, not in CI). The modules mutated and the tests run against
# them are [tool.mutmut] in pyproject.toml (one line each); survivors judged equivalent are in
# tests/mutation-equivalents.md. MUTANTS narrows a run, e.g. `make mutate MUTANTS='engine.optim*'`;
# MUTATE_CHILDREN is how many mutants run at once. Results are kept in mutants/: a second run
# only retries what changed (delete mutants/ to start over).
MUTATE_CHILDREN ?= 2
MUTANTS ?=

mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTANTS) || true
	@echo; echo "Survivors (\`$(BIN)/mutmut show <name>\` prints the change):"
	@$(BIN)/mutmut results
	@echo; $(BIN)/mutmut results --all true | awk -F': ' '\
		{ sub(/^ +/, "", $$1); split($$1, part, "."); module = part[1] "." part[2]; count[module, $$2]++; modules[module] = 1 } \
		END { for (m in modules) { done = count[m, "killed"] + count[m, "timeout"]; \
			tried = done + count[m, "survived"] + count[m, "no tests"] + count[m, "suspicious"]; \
			printf "%-16s killed %4d  survived %4d  no tests %3d  timeout %2d  not checked %4d  killed share %5.1f%%\n", \
				m, count[m, "killed"], count[m, "survived"], count[m, "no tests"], count[m, "timeout"], \
				count[m, "not checked"], tried ? 100 * done / tried : 0 } }' | sort

clean:
	rm -rf $(VENV) build *.egg-info mutants
