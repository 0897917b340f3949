/**
 * @module Compiles an entry point of the workspace into plain JavaScript for `node`, so that the
 * service runs without tsx (whose loader thread costs ~90 MB of RSS under load, measured in
 * docs/performance.md).
 *
 * - The workspace's own modules (`@hookline/*`, the app) are compiled into the bundle; modules
 *   loaded on demand (`import('./service.ts')`) become chunks of their own, loaded on demand still.
 * - Every npm package stays outside: it is imported by a relative path to the very file the
 *   package resolves to from its importer, so pnpm's strict layout (a package sees only its own
 *   dependencies) holds in the bundle as it does in the source.
 * - Each workspace module keeps its own `import.meta.url` (files found next to it, such as the
 *   migrations, are found as from the source).
 *
 * Usage: `node --import tsx scripts/bundle.ts <entry.ts> <outdir>`.
 */
import { readFile, rm } from 'node:fs/promises'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

/** Leaves npm packages out of the bundle, imported by a relative path from `outdir`. */
function npmPackagesOutside(outdir: string): Plugin {
  return {
    name: 'npm-packages-outside',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true }
        if (args.path.startsWith('@hookline/') || args.pluginData === 'inner') return undefined
        const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' })
        if (found.errors.length > 0) return { errors: found.errors }
        if (!found.path.includes('/node_modules/')) return undefined
        return { path: relativeSpecifier(outdir, found.path), external: true }
      })
    },
  }
}

/** Keeps each workspace module's own `import.meta.url`, and drops its hashbang line. */
function ownImportMetaUrl(outdir: string): Plugin {
  return {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined
        const source = (await readFile(args.path, 'utf8')).replace(/^#!.*/, '')
        const url = `new URL(${JSON.stringify(relativeSpecifier(outdir, args.path))}, import.meta.url).href`
        return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' }
      })
    },
  }
}

/** `target` as an import specifier relative to a module in `fromDir`. */
function relativeSpecifier(fromDir: string, target: string): string {
  const path = relative(fromDir, target)
  return path.startsWith('.') ? path : `./${path}`
}

/**
 * Bundles `entry` into `outdir`, replacing what it held (ES modules, `.mjs`, with a `node` hashbang).
 *
 * @example
 * await bundle('apps/hookline/src/cli.ts', 'apps/hookline/bundle')
 */
export async function bundle(entry: string, outdir: string): Promise<void> {
  const out = resolve(outdir)
  await rm(out, { recursive: true, force: true })
  await build({
    entryPoints: [resolve(entry)],
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Node's own conditions only (esbuild would add `module`, which Node ignores).
    conditions: [],
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
    plugins: [npmPackagesOutside(out), ownImportMetaUrl(out)],
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, outdir] = process.argv.slice(2)
  if (!entry || !outdir) {
    console.error('usage: node --import tsx scripts/bundle.ts <entry.ts> <outdir>')
    process.exit(2)
  }
  await bundle(entry, outdir)
}
