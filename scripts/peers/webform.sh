# Web form channel peer: a real browser. Debian's Chromium, driven by
# playwright-core (pinned in connectors/webform/testdata/browser/package.json)
# installed under $ROOT/.cache/browser, with axe-core (pinned there too) for
# the inbox's accessibility check. Nothing is left running: each test
# launches and closes its own browser. Sourced by scripts/test.sh.
# Exports SWITCHBOARD_TEST_CHROMIUM, SWITCHBOARD_TEST_PLAYWRIGHT,
# SWITCHBOARD_TEST_AXE and SWITCHBOARD_TEST_NODE, read by the browser tests
# (cmd/switchboard/webform_e2e_test.go, ui_e2e_test.go, ui_a11y_e2e_test.go).

webform_pkg="$ROOT/connectors/webform/testdata/browser"
webform_dir="$ROOT/.cache/browser"

webform_apt=()
command -v chromium >/dev/null || webform_apt+=(chromium)
command -v node >/dev/null || webform_apt+=(nodejs)
command -v npm >/dev/null || webform_apt+=(npm)
if ((${#webform_apt[@]})); then
  log "installing ${webform_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${webform_apt[@]}" >/dev/null
fi

# playwright-core only drives the browser; it never downloads one (no
# `playwright install`): it is pointed at /usr/bin/chromium.
if ! cmp -s "$webform_pkg/package-lock.json" "$webform_dir/package-lock.json" ||
  [ ! -f "$webform_dir/node_modules/playwright-core/package.json" ] ||
  [ ! -f "$webform_dir/node_modules/axe-core/axe.min.js" ]; then
  log "installing playwright-core and axe-core into $webform_dir"
  mkdir -p "$webform_dir"
  cp "$webform_pkg/package.json" "$webform_pkg/package-lock.json" "$webform_dir/"
  (cd "$webform_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
fi

export SWITCHBOARD_TEST_CHROMIUM=$(command -v chromium)
export SWITCHBOARD_TEST_NODE=$(command -v node)
export SWITCHBOARD_TEST_PLAYWRIGHT="$webform_dir/node_modules/playwright-core"
export SWITCHBOARD_TEST_AXE="$webform_dir/node_modules/axe-core/axe.min.js"
# Screenshots of browser tests are kept here (the run's temp dir is removed at exit).
export SWITCHBOARD_TEST_ARTIFACTS=${SWITCHBOARD_TEST_ARTIFACTS:-$ROOT/.cache/artifacts}
mkdir -p "$SWITCHBOARD_TEST_ARTIFACTS"
log "browser: $("$SWITCHBOARD_TEST_CHROMIUM" --version 2>/dev/null | head -1), playwright-core $(node -p "require('$SWITCHBOARD_TEST_PLAYWRIGHT/package.json').version")"
