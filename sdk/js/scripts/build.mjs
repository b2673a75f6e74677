// Builds dist/proctor-player.js (ESM) and dist/proctor-player.iife.js (script tag: window.ProctorPlayer).
import { build } from "esbuild";

const common = { entryPoints: ["src/index.ts"], bundle: true, minify: true, sourcemap: true,
  target: ["es2020", "chrome87", "safari15", "ios15"], legalComments: "none", logLevel: "info" };
await build({ ...common, format: "esm", outfile: "dist/proctor-player.js" });
await build({ ...common, format: "iife", globalName: "ProctorSDK", outfile: "dist/proctor-player.iife.js",
  footer: { js: "window.ProctorPlayer=ProctorSDK.ProctorPlayer;" } });
