import { forkChild } from '/work/main/bench/support/child.ts'
import { Infra, REDIS_URL } from '/work/main/bench/support/infra.ts'
const infra = new Infra()
const sb = await infra.sandbox()
const load = await forkChild('load/load-generator.ts', {})
const mode = process.argv[2] ?? 'hookline'
const t = await forkChild<{port:number}>('targets/ingest-server.ts', { mode, ...sb, redisUrl: REDIS_URL }, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] })
const r = await load.call('run', { url: `http://127.0.0.1:${t.ready.port}`, path: '/webhooks/stripe', mix: { provider: 'stripe', count: 20000 }, connections: 50, durationSeconds: 6 })
console.log(r)
await t.stop(); await load.stop(); await infra.cleanup()
