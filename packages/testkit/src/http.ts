/**
 * @module Runs a request listener (an Express app) on a free port for HTTP tests.
 */
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Listens on 127.0.0.1 with an OS-chosen port.
 *
 * @example
 * const server = await listenOnFreePort(app)
 * await fetch(`${server.url}/healthz`)
 * await server.close()
 */
export async function listenOnFreePort(app: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
