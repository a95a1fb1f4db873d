# Convenience targets; each wraps a script in scripts/ so that nothing here needs make to work.
.PHONY: run test bench build setup clean regression baselines

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

build: setup
	swift build -c release --product vodsim

setup:
	scripts/setup.sh

clean:
	rm -rf .build
