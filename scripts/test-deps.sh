#!/bin/sh
# Debian packages the test suite drives (never downloaded otherwise): chromium + fonts-wqy-microhei for the
# console's browser tests, ffmpeg's ffprobe as the real RTSP client the simulator is checked against, prometheus's
# promtool for the /metrics check. Installed here when missing and we can (root with apt-get); otherwise the
# exact command is printed and the tests that need them fail naming it.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing="$missing fonts-wqy-microhei"
command -v ffprobe >/dev/null 2>&1 || missing="$missing ffmpeg"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing$missing (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null && exit 0
  echo "test-deps: apt-get failed; the browser/RTSP/metrics tests will fail naming what is missing" >&2
else
  echo "test-deps: missing$missing — install with: sudo apt-get install -y$missing" >&2
fi
exit 0
