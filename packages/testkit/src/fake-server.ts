/**
 * @module What the fake provider APIs share: a local HTTP server whose `close()` also cuts open
 * connections, the faults armed for the next requests (429s, 500s), and the switch that holds or
 * fails the requests for following pages (to stall a reconciliation mid-run, or make its provider
 * fail after the first page).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** How a fake answers requests for any page but the first. */
export type FollowingPagesMode = 'serve' | 'hold' | 'fail'

/**
 * The following-pages switch of a fake API.
 *
 * @example
 * const gate = new PageGate()
 * if (query.cursor && gate.hold(res)) return        // stuck connection
 * if (query.cursor && gate.mode === 'fail') return send(res, 500, …)
 */
export class PageGate {
  /** The current answer to following pages. */
  mode: FollowingPagesMode = 'serve'
  private readonly held = new Set<ServerResponse>()

  /** In `hold` mode, parks `res` without an answer and returns true; otherwise false. */
  hold(res: ServerResponse): boolean {
    if (this.mode !== 'hold') return false
    this.held.add(res)
    return true
  }

  /** Cuts the connections of the held requests. */
  dropHeld(): void {
    for (const res of this.held) res.socket?.destroy()
    this.held.clear()
  }
}

/**
 * A fault armed for the next `count` requests (a 429, a 500…), with what to answer them.
 *
 * @example
 * const rateLimits = new NextRequests<{ retryAfter: number }>()
 * rateLimits.arm(2, { retryAfter: 1 })
 * const limit = rateLimits.take()        // the detail while armed, then undefined
 * if (limit) return send(res, 429, …, { 'retry-after': String(limit.retryAfter) })
 */
export class NextRequests<T> {
  private left = 0
  private detail: T | undefined

  /** Arms the fault for the next `count` requests (`Infinity`: all), replacing any armed one. */
  arm(count: number, detail: T): void {
    this.left = count
    this.detail = detail
  }

  /** For a request `applies` to (default: every one), uses up one and returns the detail; otherwise undefined. */
  take(applies: (detail: T) => boolean = () => true): T | undefined {
    if (this.left <= 0 || !applies(this.detail as T)) return undefined
    this.left -= 1
    return this.detail
  }
}

/**
 * Serves `handler` on a free port of 127.0.0.1.
 *
 * @example
 * const server = await listenFake((req, res) => res.end('{}'))
 * const url = `http://127.0.0.1:${server.port}`
 */
export async function listenFake(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer(handler)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        // Held requests and keep-alive connections would otherwise keep close() waiting.
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
