/**
 * @module Builds every published package to its `dist/` (ESM JavaScript and `.d.ts`), as the
 * tarballs ship them. In the workspace the packages run from `src/` (their `exports` point there);
 * only `publishConfig` points at `dist/`, so nothing inside the repository needs this build.
 *
 * - The published packages are the projects referenced by the root `tsconfig.build.json`; one
 *   `tsc -b` builds them in dependency order (a package's imports of another resolve to that
 *   package's emitted `.d.ts`, not to its source).
 * - `rewriteRelativeImportExtensions` turns `./x.ts` into `./x.js` in the JavaScript; TypeScript
 *   5.9 leaves the `.d.ts` files' specifiers as written, so they are rewritten here, for consumers
 *   whose compiler does not allow `.ts` specifiers.
 * - The CLI's entry point starts with `#!/usr/bin/env -S node --import tsx` (the workspace runs
 *   it from source); the built one runs on plain `node`.
 *
 * Usage: `node --import tsx scripts/build-packages.ts [--clean]` (`--clean` first removes every
 * `dist/`, so that files deleted from `src/` do not linger in a tarball).
 */
import { spawnSync } from 'node:child_process'
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root directory. */
export const ROOT_DIR = resolve(import.meta.dirname, '..')

/** The root project whose references are the published packages. */
const BUILD_CONFIG = join(ROOT_DIR, 'tsconfig.build.json')

/** The built CLI entry point, relative to its package's directory. */
const CLI_ENTRY = 'dist/cli.js'

/** Relative module specifiers that end in a TypeScript extension, in `.d.ts` text. */
const TS_SPECIFIER = /((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]*?)\.([mc]?)ts\2/g

/**
 * The directories of the published packages (absolute), in the order of `tsconfig.build.json`.
 *
 * @example
 * const dirs = await publishedPackageDirs() // ['/repo/packages/db', '/repo/packages/core', …]
 */
export async function publishedPackageDirs(): Promise<string[]> {
  const config = JSON.parse(await readFile(BUILD_CONFIG, 'utf8')) as { references: { path: string }[] }
  return config.references.map((ref) => dirname(resolve(ROOT_DIR, ref.path)))
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* filesUnder(path)
    else yield path
  }
}

/** Rewrites `./x.ts` specifiers of the `.d.ts` files under `distDir` to `./x.js`. */
async function rewriteDeclarationSpecifiers(distDir: string): Promise<void> {
  for await (const file of filesUnder(distDir)) {
    if (!/\.d\.[mc]?ts$/.test(file)) continue
    const text = await readFile(file, 'utf8')
    const rewritten = text.replace(TS_SPECIFIER, (_all, lead: string, quote: string, path: string, flavour: string) =>
      // `./x.d.ts` stays as it is: only source specifiers change.
      path.endsWith('.d') ? _all : `${lead}${quote}${path}.${flavour}js${quote}`,
    )
    if (rewritten !== text) await writeFile(file, rewritten)
  }
}

/** Gives the built CLI a plain `node` hashbang and makes it executable. */
async function fixCliEntry(packageDir: string): Promise<void> {
  const entry = join(packageDir, CLI_ENTRY)
  const text = await readFile(entry, 'utf8').catch(() => undefined)
  if (text === undefined) return
  const fixed = text.replace(/^#!.*\n/, '#!/usr/bin/env node\n')
  if (fixed !== text) await writeFile(entry, fixed)
  await chmod(entry, 0o755)
}

/**
 * Builds every published package into its `dist/`.
 *
 * @example
 * await buildPackages({ clean: true })
 */
export async function buildPackages(options: { clean?: boolean } = {}): Promise<void> {
  const dirs = await publishedPackageDirs()
  if (options.clean) await Promise.all(dirs.map((dir) => rm(join(dir, 'dist'), { recursive: true, force: true })))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-b', BUILD_CONFIG], { cwd: ROOT_DIR, stdio: 'inherit' })
  if (result.status !== 0) throw new Error(`tsc -b ${BUILD_CONFIG} failed (exit ${result.status ?? result.signal})`)
  for (const dir of dirs) {
    await rewriteDeclarationSpecifiers(join(dir, 'dist'))
    await fixCliEntry(dir)
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildPackages({ clean: process.argv.includes('--clean') })
}
