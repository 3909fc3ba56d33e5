# Convenience targets; each is one line a newcomer can also type by hand.
.PHONY: run test build release bench demo

run:        ## the main job on this machine: the webhook with a throwaway self-signed cert
	swift run kate webhook --self-signed --listen 127.0.0.1:8443

test:       ## the whole test suite (installs what it needs first)
	scripts/test.sh

build:
	swift build

release:
	swift build -c release --product kate

bench:      ## every benchmark, release builds; prints the figures quoted in the README
	scripts/bench.sh

demo:       ## the whole story offline: registry, webhook, API server, tag move, sweep (about 5 s after the build)
	swift build --product kate && swift build --product kate-dev-apiserver && scripts/demo.sh
