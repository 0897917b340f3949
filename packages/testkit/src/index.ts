/**
 * @module Test helpers for Hookline and its users: isolated databases and queue prefixes, a
 * disposable Redis, signed provider requests, and polling.
 *
 * @example
 * import { createTestDatabase, testQueuePrefix, signedStripeDelivery } from '@hookline/testkit'
 */
export { describeAdapterConformance, type AdapterConformanceKit, type ConformanceFixture, type ConformanceRequest } from './conformance.ts'
export { createTestDatabase, type TestDatabase } from './database.ts'
export {
  githubCheckRunCompleted,
  githubIssueOpened,
  githubPing,
  githubPullRequestSynchronize,
  githubPush,
  signedGithubDelivery,
  GITHUB_TEST_APP_ID,
  GITHUB_TEST_HOOK_ID,
  GITHUB_TEST_INSTALLATION_ID,
  type GithubDeliveryOptions,
  type GithubPayloadOptions,
} from './github-fixtures.ts'
export { startFakeGithubApi, type FakeGithubApi, type FakeGithubApiOptions, type FakeGithubDelivery, type FakeGithubDeliveryInput, type FakeRateLimit } from './fake-github-api.ts'
export { slackHistoryMessage, startFakeSlackApi, type FakeSlackApi, type FakeSlackApiOptions } from './fake-slack-api.ts'
export { startFakeStripeApi, type FakeStripeApi } from './fake-stripe-api.ts'
export { listenOnFreePort } from './http.ts'
export { GITHUB_TEST_SECRET, SLACK_TEST_SECRET, STANDARD_WEBHOOKS_TEST_SECRET, STRIPE_TEST_SECRET } from './secrets.ts'
export { testQueuePrefix, TEST_REDIS_URL } from './queue.ts'
export { freePort, startDisposableRedis, type DisposableRedis } from './redis-server.ts'
export {
  signedSlackRequest,
  slackAppMentionEvent,
  slackBlockActionsPayload,
  slackCommandBody,
  slackEventCallback,
  slackInteractivityBody,
  slackMessageEvent,
  slackReactionAddedEvent,
  slackSlashCommand,
  slackUrlVerification,
  slackViewSubmissionPayload,
  SLACK_TEST_APP_ID,
  SLACK_TEST_TEAM_ID,
  type SignedSlackRequestOptions,
  type SlackEventOptions,
  type SlackInteractionOptions,
} from './slack-fixtures.ts'
export {
  signedStandardWebhook,
  standardWebhookEvent,
  STANDARD_WEBHOOK_SAMPLES,
  type SignedStandardWebhookOptions,
  type StandardWebhookEventOptions,
} from './standard-webhooks-fixtures.ts'
export { signedStripeDelivery, stripeEvent, stripeThinEvent, type SignedRequest, type StripeEventOptions, type StripeThinEventOptions } from './stripe-fixtures.ts'
export { waitFor } from './wait.ts'
