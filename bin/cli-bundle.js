// The CLI's compiled form: esbuild bundles cli/main.ts (our TypeScript; npm packages stay
// external) into dist/build-ID/, one chunk per lazily imported command, and writes
// dist/manifest.json naming that folder and every source it read with its size and mtime.
// `freshEntry()` is what bin/gittorrent.js runs on every start: a few stat calls, no esbuild
// import unless a source changed. Plain JavaScript: it runs before anything is compiled.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
const MANIFEST = 'manifest.json';
const FORMAT = 1;
/** Files that shape the bundle besides the sources esbuild reports. */
const EXTRA_INPUTS = ['bin/cli-bundle.js', 'tsconfig.json', 'package.json'];

function signature(path) {
  const st = statSync(path);
  return [st.size, st.mtimeMs];
}

function readManifest(dist) {
  try {
    const m = JSON.parse(readFileSync(join(dist, MANIFEST), 'utf8'));
    return m && m.format === FORMAT && typeof m.entry === 'string' && m.inputs && typeof m.inputs === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The manifest's entry (absolute) when every input is unchanged, else undefined. */
export function currentEntry(root = ROOT, dist = join(root, 'dist')) {
  const m = readManifest(dist);
  if (!m) return undefined;
  for (const [file, sig] of Object.entries(m.inputs)) {
    let now;
    try {
      now = signature(join(root, file));
    } catch {
      return undefined;
    }
    if (now[0] !== sig[0] || now[1] !== sig[1]) return undefined;
  }
  const entry = join(dist, m.entry);
  return existsSync(entry) ? entry : undefined;
}

/**
 * Bundles the CLI into a new dist/build-ID/ folder and points the manifest at it (atomically:
 * a run that starts meanwhile uses the previous build). Older builds are removed after 10
 * minutes (a running CLI may still import their chunks). Returns the entry's absolute path.
 */
export async function bundle(root = ROOT, dist = join(root, 'dist')) {
  const esbuild = await import('esbuild');
  mkdirSync(dist, { recursive: true });
  const id = `build-${Date.now().toString(36)}-${process.pid}`;
  const outdir = join(dist, id);
  // Sources keep their own location: import.meta.url becomes the source file's URL, so paths
  // a module computes from it (the repository root, package.json) stay right.
  const keepImportMeta = {
    name: 'source-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
      });
    },
  };
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'cli/main.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked', // an internal error's stack names the TypeScript lines (bin/gittorrent.js)
    metafile: true,
    logLevel: 'silent',
    plugins: [keepImportMeta],
  });
  const inputs = {};
  for (const file of [...Object.keys(result.metafile.inputs), ...EXTRA_INPUTS]) {
    if (existsSync(join(root, file))) inputs[file] = signature(join(root, file));
  }
  const manifest = { format: FORMAT, esbuild: esbuild.version, entry: `${id}/main.js`, inputs };
  const tmp = join(dist, `${MANIFEST}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest, null, 1) + '\n');
  renameSync(tmp, join(dist, MANIFEST));
  for (const d of readdirSync(dist)) {
    if (d === id || !d.startsWith('build-')) continue;
    try {
      if (Date.now() - statSync(join(dist, d)).mtimeMs > 10 * 60_000) rmSync(join(dist, d), { recursive: true, force: true });
    } catch {
      // another run removed it
    }
  }
  return join(outdir, 'main.js');
}

/** The compiled entry, rebuilt first when a source changed; undefined when it cannot be built. */
export async function freshEntry(root = ROOT) {
  const entry = currentEntry(root);
  if (entry) return entry;
  try {
    return await bundle(root);
  } catch {
    return undefined; // no esbuild, an unwritable folder: the caller runs the sources
  }
}

// `node bin/cli-bundle.js`: brings dist/ up to date (scripts/setup.sh); silent when it is.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && !currentEntry()) {
  const entry = await bundle();
  console.error(`setup: CLI compiled into ${relative(ROOT, dirname(entry))}/`);
}
