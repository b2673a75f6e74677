// Gzipped sizes of the builds; fails above the budget. `--json FILE` writes {"sdk_bundle_gzip_bytes": N}.
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 40 * 1024;
const sizes = {};
for (const f of ["dist/proctor-player.js", "dist/proctor-player.iife.js"]) {
  sizes[f] = gzipSync(readFileSync(f), { level: 9 }).length;
  console.log(`${f}: ${readFileSync(f).length} bytes, ${sizes[f]} gzipped (budget ${BUDGET})`);
}
const largest = Math.max(...Object.values(sizes));
const i = process.argv.indexOf("--json");
if (i > 0) writeFileSync(process.argv[i + 1], JSON.stringify({ sdk_bundle_gzip_bytes: largest }) + "\n");
if (largest > BUDGET) {
  console.error(`bundle is ${largest} bytes gzipped, over the ${BUDGET} budget`);
  process.exit(1);
}
