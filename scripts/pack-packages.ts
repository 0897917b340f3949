/**
 * @module `pnpm pack:packages <dir>`: a clean build of every published package, then one tarball
 * per package in `<dir>`, as `npm publish` would upload it. `pnpm pack` applies each package's
 * `publishConfig` (the `exports`, `main`, `types` and `bin` of `dist/`) and rewrites `workspace:*`
 * dependencies to the versions of the workspace's packages.
 *
 * Usage: `node --import tsx scripts/pack-packages.ts <dir>`; prints the tarballs' paths.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildPackages, publishedPackageDirs } from './build-packages.ts'

const run = promisify(execFile)

/** One packed package. */
export interface PackedPackage {
  name: string
  version: string
  /** Absolute path of the tarball. */
  tarball: string
}

/**
 * Builds every published package from scratch and packs each into `outDir` (created if missing).
 *
 * @example
 * const packed = await packPackages('/tmp/tarballs')
 * // [{ name: '@hookline/db', version: '0.1.0', tarball: '/tmp/tarballs/hookline-db-0.1.0.tgz' }, …]
 */
export async function packPackages(outDir: string): Promise<PackedPackage[]> {
  // `pnpm pack:packages <dir>` runs at the root: a relative `<dir>` is meant from where pnpm was invoked.
  const destination = resolve(process.env.INIT_CWD ?? process.cwd(), outDir)
  await mkdir(destination, { recursive: true })
  await buildPackages({ clean: true })
  const packed: PackedPackage[] = []
  // One at a time: pnpm's own startup dominates, and parallel packs only compete for two cores.
  for (const dir of await publishedPackageDirs()) {
    const { name, version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name: string; version: string }
    await run('pnpm', ['pack', '--silent', '--pack-destination', destination], { cwd: dir })
    packed.push({ name, version, tarball: join(destination, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`) })
  }
  return packed
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [outDir] = process.argv.slice(2)
  if (!outDir) {
    console.error('usage: pnpm pack:packages <dir>')
    process.exit(2)
  }
  for (const { tarball } of await packPackages(outDir)) console.log(tarball)
}
