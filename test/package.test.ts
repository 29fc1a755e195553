/** What `npm pack` would publish: no images, no source maps whose sources are not in the package. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

describe('the package', () => {
  // --ignore-scripts: packing would run `prepare` (a build that replaces dist/ under the running tests).
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  const files: string[] = r.status === 0 ? JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path) : [];

  it('can be packed', () => {
    assert.equal(r.status, 0, r.stderr);
    assert.ok(files.includes('dist/nodes/esr-map/esr-map.js'));
    assert.ok(files.includes('icons/esr-map.svg'), 'node icons are shipped');
  });

  it('ships no pictures (the README\'s screenshot stays in the repository)', () => {
    assert.deepEqual(files.filter((f) => /\.(png|jpe?g|gif|webp|bmp|avif)$/i.test(f) || (/\.svg$/i.test(f) && !/^(icons|dist\/nodes\/[^/]+\/icons)\//.test(f))), []);
  });

  it('ships no source map whose sources are not shipped', () => {
    const shipped = new Set(files);
    const orphans = files.filter((f) => f.endsWith('.map')).filter((f) => {
      const map = JSON.parse(fs.readFileSync(path.join(ROOT, f), 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
      if (map.sourcesContent && map.sourcesContent.length === map.sources.length) return false;
      return map.sources.some((s) => !shipped.has(path.posix.join(path.posix.dirname(f), s)));
    });
    assert.deepEqual(orphans, []);
  });
});
