# Convenience targets; each wraps a script in scripts/ so that nothing here needs make to work.
.PHONY: run test bench build setup clean regression baselines slurm-proof bench-peak

run:        ## install, build, run the default scenario
	scripts/run.sh

test:       ## install, build, run all tests (what CI runs)
	scripts/test.sh

bench:      ## the engine benchmark at the DESIGN.md target size (10M pending events)
	scripts/run.sh bench engine --pending 10000000 --events 50000000

regression: ## the CI regression gate: baseline scenarios, repeatability, `vodsim compare`
	scripts/regression.sh

baselines:  ## rewrite Reports/baselines/ from fresh runs (deliberately; commit with the change)
	scripts/regression.sh --update

slurm-proof: ## a single-node Slurm runs an emitted sweep; its summaries must equal the local sweep's
	scripts/slurm-proof.sh

bench-peak: ## the full-scale benchmark (Scenarios/peak-10m.yaml, k = 1): very long, see docs/performance.md
	swift build -c release --product vodsim && .build/release/vodsim bench scenario Scenarios/peak-10m.yaml --threads 2

build: setup
	swift build -c release --product vodsim

setup:
	scripts/setup.sh

clean:
	rm -rf .build
