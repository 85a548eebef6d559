# The WebSocket entry (core/wsentry) and the relay tunnel (core/relay).
.PHONY: websocket-test websocket-browser websocket-bench websocket-fuzz

# websocket-test runs both packages' tests with the race detector; the
# headless-Chromium check inside runs when /usr/bin/chromium exists.
websocket-test:
	$(GO) test -race -count=1 ./core/wsentry/... ./core/relay/...

# websocket-browser runs only the browser check, installing Debian's
# chromium first if it is missing (needs root).
websocket-browser:
	@command -v chromium >/dev/null || apt-get install -y chromium
	$(GO) test -count=1 -v -run TestBrowserCannotReachEntry ./core/wsentry/

# websocket-bench: a call over the WebSocket vs the Unix socket (p50
# ratio), and the relay with 16 sessions (calls/s).
WSBENCHTIME ?= 20000x
websocket-bench:
	$(GO) test -run '^$$' -bench . -benchtime $(WSBENCHTIME) -count 3 ./core/wsentry/ ./core/relay/

websocket-fuzz:
	$(GO) test ./core/relay -run '^$$' -fuzz '^FuzzDecodeFrame$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/relay -run '^$$' -fuzz '^FuzzSessionOf$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/wsentry -run '^$$' -fuzz '^FuzzHandshake$$' -fuzztime $(FUZZTIME)
