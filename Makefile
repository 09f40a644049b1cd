# Shortcuts for the README's two set-up commands (which work without make):
#   make demo  = bash scripts/demo.sh
#   make test  = bash scripts/test.sh
.PHONY: demo test bench clean

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/venv.sh test
	for b in bench/*; do if [ -f "$$b" ] && [ -x "$$b" ]; then .venv/bin/python "$$b" || exit 1; fi; done

clean:
	rm -rf .venv build *.egg-info .pytest_cache
