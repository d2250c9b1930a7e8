#!/usr/bin/env bash
# Copy the pinned front-end files from node_modules (see package.json) into static/vendor/.
# Run after changing a version there: `npm install && bash static/vendor/copy-from-npm.sh`; commit the result.
# htmx stays on 2.x: htmx 4 does not work with htmx-ext-ws 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=static/vendor
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/htmx-ext-ws/dist/ws.min.js "$dest/htmx-ext-ws.min.js"
cp node_modules/@picocss/pico/css/pico.classless.min.css "$dest/pico.classless.min.css"
cp node_modules/uplot/dist/uPlot.iife.min.js "$dest/uPlot.iife.min.js"
cp node_modules/uplot/dist/uPlot.min.css "$dest/uPlot.min.css"
{
  echo "htmx.org $(node -p "require('./node_modules/htmx.org/package.json').version") (BSD-2-Clause)"
  echo "htmx-ext-ws $(node -p "require('./node_modules/htmx-ext-ws/package.json').version") (BSD-2-Clause)"
  echo "@picocss/pico $(node -p "require('./node_modules/@picocss/pico/package.json').version") (MIT)"
  echo "uplot $(node -p "require('./node_modules/uplot/package.json').version") (MIT)"
} > "$dest/VERSIONS"
