// Copies the non-TypeScript files the compiled code needs (built-in layouts, node editor HTML, icons) into dist/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const copies = [
  { from: 'core/codec/layouts', to: 'dist/core/codec/layouts', ext: '.json' },
  { from: 'nodes', to: 'dist/nodes', ext: '.html' },
  // message catalogues: nodes/<node>/locales/<lang>/<node>.json (help is in the .html beside them)
  { from: 'nodes', to: 'dist/nodes', ext: '.json' },
];

function copyTree(from, to, ext) {
  if (!fs.existsSync(from)) return;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, ext);
    else if (entry.name.endsWith(ext)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

for (const c of copies) copyTree(path.join(root, c.from), path.join(root, c.to), c.ext);

// Node-RED looks for a node's icons in an `icons` folder beside the node's .js file (dist/nodes/<node>/icons), not at
// the package root: each node folder gets a copy of the pack's icons.
const nodesDir = path.join(root, 'dist', 'nodes');
for (const entry of fs.readdirSync(nodesDir, { withFileTypes: true })) {
  if (entry.isDirectory() && fs.existsSync(path.join(nodesDir, entry.name, `${entry.name}.js`))) {
    copyTree(path.join(root, 'icons'), path.join(nodesDir, entry.name, 'icons'), '.svg');
  }
}
