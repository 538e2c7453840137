// Inline the page's style, the WebAssembly core (one emcc -sSINGLE_FILE script)
// and the interface script into one self-contained HTML file that works from
// file:// with no network.
//
//   node web/bundle.mjs --html web/index.html --css web/style.css \
//        --core build/web/ravine_core.js --app web/app.js --out build/web/index.html
import { readFileSync, writeFileSync } from "node:fs";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const key of ["html", "css", "core", "app", "out"]) {
  if (!args[key]) {
    console.error(`bundle: missing --${key}`);
    process.exit(2);
  }
}

const read = (p) => readFileSync(p, "utf8");
// A literal "</script" inside inlined code would close the element early.
const script = (code) => `<script>\n${code.replace(/<\/script/gi, "<\\/script")}\n</script>`;

let html = read(args.html);
const parts = {
  "<!-- @style -->": `<style>\n${read(args.css)}\n</style>`,
  "<!-- @core -->": script(read(args.core)),
  "<!-- @app -->": script(read(args.app)),
};
for (const [marker, content] of Object.entries(parts)) {
  if (!html.includes(marker)) {
    console.error(`bundle: ${args.html} has no ${marker} marker`);
    process.exit(2);
  }
  // a function replacement keeps "$" sequences in the code literal
  html = html.replace(marker, () => content);
}
writeFileSync(args.out, html);
