/**
 * @module The sample events `hookline send` signs: the testkit's realistic payloads, several
 * types per provider, each signed with the provider SDK's own helper (Slack, which ships none,
 * with its documented scheme) and the configured secret.
 */
import {
  githubCheckRunCompleted,
  githubIssueOpened,
  githubPing,
  githubPullRequestSynchronize,
  githubPush,
  type SignedRequest,
  signedGithubDelivery,
  signedSlackRequest,
  signedStandardWebhook,
  signedStripeDelivery,
  slackAppMentionEvent,
  slackBlockActionsPayload,
  slackCommandBody,
  slackInteractivityBody,
  slackMessageEvent,
  slackReactionAddedEvent,
  slackSlashCommand,
  slackViewSubmissionPayload,
  STANDARD_WEBHOOK_SAMPLES,
  standardWebhookEvent,
  stripeEvent,
} from '@hookline/testkit/fixtures'

/** The providers `send` knows how to sign for. */
export type SampleProvider = 'stripe' | 'github' | 'slack' | 'standard-webhooks'

/** Builds a fresh body for a sample type (new ids each call). */
type Build = () => string

/** Signs an exact body for the provider with `secret`; `type` is the sample type (GitHub's event). */
type Sign = (body: string, secret: string, type: string) => Promise<SignedRequest>

interface ProviderSamples {
  /** The sample types, the first being the default. */
  types: Record<string, Build>
  sign: Sign
}

const json = (value: unknown): string => JSON.stringify(value)

const stripeObject = (object: Record<string, unknown>) => (type: string) => () => json(stripeEvent({ type, object }))

/** Stripe's `data.object` of each sample type. */
const STRIPE_TYPES: Record<string, (type: string) => Build> = {
  'invoice.paid': stripeObject({}),
  'invoice.payment_failed': stripeObject({ status: 'open', amount_paid: 0, attempt_count: 1 }),
  'customer.created': stripeObject({ id: 'cus_T3stCustomer', object: 'customer', email: 'ada@example.com' }),
  'customer.subscription.updated': stripeObject({ id: 'sub_T3stSubscription', object: 'subscription', status: 'active', customer: 'cus_T3stCustomer' }),
  'payment_intent.succeeded': stripeObject({ id: 'pi_T3stPayment', object: 'payment_intent', amount: 4200, status: 'succeeded' }),
  'checkout.session.completed': stripeObject({ id: 'cs_test_T3stSession', object: 'checkout.session', mode: 'subscription', status: 'complete' }),
}

const SAMPLES: Record<SampleProvider, ProviderSamples> = {
  stripe: {
    types: Object.fromEntries(Object.entries(STRIPE_TYPES).map(([type, build]) => [type, build(type)])),
    sign: async (body, secret) => signedStripeDelivery(undefined, { body, secret }),
  },
  github: {
    types: {
      push: () => json(githubPush()),
      ping: () => json(githubPing()),
      issues: () => json(githubIssueOpened()),
      pull_request: () => json(githubPullRequestSynchronize()),
      check_run: () => json(githubCheckRunCompleted()),
    },
    sign: (body, secret, type) => signedGithubDelivery(undefined, { event: type, body, secret }),
  },
  slack: {
    types: {
      message: () => json(slackMessageEvent()),
      app_mention: () => json(slackAppMentionEvent()),
      reaction_added: () => json(slackReactionAddedEvent()),
      block_actions: () => slackInteractivityBody(slackBlockActionsPayload()),
      view_submission: () => slackInteractivityBody(slackViewSubmissionPayload()),
      command: () => slackCommandBody(slackSlashCommand()),
    },
    sign: async (body, secret) => signedSlackRequest(body, { secret }),
  },
  'standard-webhooks': {
    types: {
      'invoice.paid': () => json(standardWebhookEvent({ ...STANDARD_WEBHOOK_SAMPLES.invoicePaid, timestamp: new Date().toISOString() })),
      'contact.created': () => json(standardWebhookEvent({ ...STANDARD_WEBHOOK_SAMPLES.contactCreated, timestamp: new Date().toISOString() })),
      'email.bounced': () => json(standardWebhookEvent({ ...STANDARD_WEBHOOK_SAMPLES.emailBounced, timestamp: new Date().toISOString() })),
    },
    sign: async (body, secret) => signedStandardWebhook(undefined, { body, secret }),
  },
}

/** Whether `name` is a provider `send` signs for. */
export function isSampleProvider(name: string): name is SampleProvider {
  return Object.hasOwn(SAMPLES, name)
}

/** The sample types of `provider`, the default first. */
export function sampleTypes(provider: SampleProvider): string[] {
  return Object.keys(SAMPLES[provider].types)
}

/**
 * A fresh sample body of `type` for `provider`; undefined when there is no such sample. Stripe
 * and Standard Webhooks take any type (on an invoice-shaped object), since their type is a field.
 *
 * @example
 * sampleBody('stripe', 'invoice.paid') // '{"id":"evt_…","type":"invoice.paid",…}'
 */
export function sampleBody(provider: SampleProvider, type: string): string | undefined {
  const build = SAMPLES[provider].types[type]
  if (build) return build()
  if (provider === 'stripe') return json(stripeEvent({ type }))
  if (provider === 'standard-webhooks') return json(standardWebhookEvent({ type }))
  return undefined
}

/**
 * Signs `body` as `provider` would, with `secret`.
 *
 * @example
 * const { body, headers } = await signSample('github', sampleBody('github', 'push')!, secret, 'push')
 */
export function signSample(provider: SampleProvider, body: string, secret: string, type: string): Promise<SignedRequest> {
  return SAMPLES[provider].sign(body, secret, type)
}
