/**
 * @module The admin API as a test calls it: one request with the bearer token, its status and
 * JSON body.
 */

/**
 * Sends `method path` (under `/admin/api`) to `target` with its token, `body` as JSON when given.
 *
 * @example
 * const { status, body } = await adminCall({ url: service.url, token: TOKEN }, 'GET', '/events?key=evt_1')
 */
export async function adminCall(target: { url: string; token: string }, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${target.url}/admin/api${path}`, {
    method,
    headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}
