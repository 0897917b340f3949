/**
 * @module One POST of a JSON body, bounded in time, that rejects unless the answer is 2xx.
 */
import { AlertDeliveryError } from '../errors.ts'

/** How long a sink may take to answer: a slow one is retried later rather than waited for. */
const SINK_TIMEOUT_MS = 10_000

/** POSTs `body` to `url`; rejects with {@link AlertDeliveryError} on a non-2xx or no answer. */
export async function postJson(sink: string, url: URL, body: string, headers: Record<string, string> = {}): Promise<void> {
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(SINK_TIMEOUT_MS) })
  } catch (err) {
    throw new AlertDeliveryError(sink, (err as Error).message, { cause: err })
  }
  // The body is not needed; reading it frees the connection.
  await res.arrayBuffer().catch(() => undefined)
  if (!res.ok) throw new AlertDeliveryError(sink, `HTTP ${res.status}`)
}
