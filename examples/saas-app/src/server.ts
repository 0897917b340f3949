/**
 * @module Entry point: `node dist/server.js`. Serves the app (Hookline's webhooks included) on
 * `PORT` and runs Hookline's worker in the same process.
 */
import type { AddressInfo } from 'node:net'
import { createSaasApp } from './app.js'
import { loadEnv } from './env.js'

const env = loadEnv()
const { app, hookline, close } = createSaasApp(env)
const server = app.listen(env.PORT, () => {
  console.log(`saas-app listening on :${(server.address() as AddressInfo).port}`)
})
await hookline.startWorker()

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  // No new requests; running handlers finish; then the connections close.
  await new Promise((resolve) => server.close(resolve))
  await close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
