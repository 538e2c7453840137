# Thin wrapper over CMake. `make test` and `make demo` set up what is missing first.
BUILD  ?= build
ASAN   ?= build-asan
PREFIX ?= /usr/local
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup configure test sanitize demo install bench clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

setup:
	bash scripts/setup.sh

test: setup
	$(MAKE) all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize: setup
	@test -f $(ASAN)/CMakeCache.txt || cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DRAVINE_SANITIZE=ON -DCMAKE_C_COMPILER=clang
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -LE nosan

demo: setup
	$(MAKE) all
	$(BUILD)/ravine report --out $(BUILD)/report

bench: all
	$(BUILD)/ravine bench

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN)
