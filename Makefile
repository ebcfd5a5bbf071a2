# Two commands on a fresh Debian 12 machine:
#   make run    install, build, load the sample data, serve on 127.0.0.1:8080
#   make test   install, build, start MariaDB + Redis on loopback, run every test
.PHONY: run test build clean servers stop-servers fuzz format lint

run:
	scripts/run.sh

test:
	scripts/test.sh

build:
	scripts/deps.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j$$(nproc)

servers:
	scripts/servers.sh start

stop-servers:
	scripts/servers.sh stop

format:
	scripts/format.sh

lint:
	scripts/deps.sh
	scripts/lint.sh

fuzz:
	scripts/deps.sh
	scripts/fuzz.sh 120

clean:
	rm -rf build build-asan build-tsan build-lambda build-fuzz
