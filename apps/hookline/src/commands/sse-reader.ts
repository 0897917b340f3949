/**
 * @module Reads a server-sent events body (the WHATWG `text/event-stream` format) into messages:
 * `event`, `id` and `data` fields, comment lines skipped. What `hookline listen` reads the admin
 * API's event stream with.
 */

/** One message of a stream. */
export interface SseMessage {
  /** The `event:` field; `message` when absent. */
  event: string
  /** The `id:` field; undefined when the message has none. */
  id: string | undefined
  /** The `data:` lines, joined by newlines. */
  data: string
}

/**
 * The messages of `body` as they arrive. `onActivity` is called for every chunk read (a heartbeat
 * comment too), so that a caller can tell a silent connection from a dead one.
 *
 * @example
 * for await (const message of sseMessages(res.body!)) console.log(message.id, message.data)
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>, onActivity: () => void = () => undefined): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder()
  let buffer = ''
  let message: SseMessage = { event: 'message', id: undefined, data: '' }
  let hasData = false
  for await (const chunk of body) {
    onActivity()
    buffer += decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR closing the chunk may be the first half of a CRLF: wait for the next chunk.
      if (newline === buffer.length - 1 && buffer.endsWith('\r')) break
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
      if (line === '') {
        // A blank line ends a message; one without data is not dispatched (as an EventSource does).
        if (hasData) yield message
        message = { event: 'message', id: undefined, data: '' }
        hasData = false
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1))
      if (field === 'event') message.event = value
      else if (field === 'id') message.id = value
      else if (field === 'data') {
        message.data = hasData ? `${message.data}\n${value}` : value
        hasData = true
      }
    }
  }
}
