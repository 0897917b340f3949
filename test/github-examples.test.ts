/**
 * Every webhook payload example GitHub's own documentation carries (`@octokit/webhooks-examples`,
 * the payloads the Octokit types are checked against), signed and posted to the ingress against
 * real Postgres and Redis: each is stored with its type, and each that names an owner (an App
 * installation, a repository's owner, an organisation, a sponsorable, a purchasing account) gets
 * a tenant.
 */
import { createRequire } from 'node:module'
import { githubAdapter } from '@hookline/github'
import { GITHUB_TEST_SECRET, signedGithubDelivery } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

interface ExampleGroup {
  name: string
  examples: Record<string, unknown>[]
}

const groups: ExampleGroup[] = createRequire(import.meta.url)('@octokit/webhooks-examples')

/** Where an example names the account it belongs to. */
function ownerOf(payload: Record<string, any>): string | undefined {
  const candidates = [
    payload.installation?.id,
    payload.repository?.owner?.login,
    payload.organization?.login,
    payload.sponsorship?.sponsorable?.login,
    payload.marketplace_purchase?.account?.login,
  ]
  return candidates.find((value) => value !== undefined && value !== null && value !== '')?.toString()
}

let h: Harness
beforeAll(async () => {
  h = await startHarness({ adapters: [githubAdapter({ secrets: [GITHUB_TEST_SECRET] })], startWorker: false })
})
afterAll(async () => h?.close())

describe("GitHub's documented payload examples", () => {
  const all = groups.flatMap((group) => group.examples.map((payload, i) => ({ event: group.name, payload, deliveryId: `example-${group.name}-${i}` })))

  it(`all ${all.length} examples of ${groups.length} events are accepted, typed, and given a tenant when they name an owner`, async () => {
    expect(all.length).toBeGreaterThan(300)
    const refused: string[] = []
    const untenanted: string[] = []
    for (const { event, payload, deliveryId } of all) {
      const { body, headers } = await signedGithubDelivery(payload, { event, deliveryId })
      const res = await h.post('github', body, headers)
      if (res.status !== 200) {
        refused.push(`${deliveryId}: ${res.status} ${JSON.stringify(res.body)}`)
        continue
      }
      const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
      const action = typeof payload.action === 'string' ? payload.action : undefined
      expect(stored.type).toBe(action ? `${event}.${action}` : event)
      if (ownerOf(payload) !== undefined && stored.tenant === null) untenanted.push(deliveryId)
    }
    expect(refused).toEqual([])
    expect(untenanted).toEqual([])
  })
})
