/**
 * @module The testkit's payload builders and signers alone (`@hookline/testkit/fixtures`): no
 * database, queue or test runner, so a command such as `hookline send` can use them.
 *
 * @example
 * import { signedStripeDelivery, stripeEvent } from '@hookline/testkit/fixtures'
 */
export {
  githubCheckRunCompleted,
  githubIssueOpened,
  githubPing,
  githubPullRequestSynchronize,
  githubPush,
  signedGithubDelivery,
} from './github-fixtures.ts'
export {
  signedSlackRequest,
  slackAppMentionEvent,
  slackBlockActionsPayload,
  slackCommandBody,
  slackInteractivityBody,
  slackMessageEvent,
  slackReactionAddedEvent,
  slackSlashCommand,
  slackViewSubmissionPayload,
} from './slack-fixtures.ts'
export { signedStandardWebhook, STANDARD_WEBHOOK_SAMPLES, standardWebhookEvent } from './standard-webhooks-fixtures.ts'
export { signedStripeDelivery, stripeEvent, stripeThinEvent, type SignedRequest } from './stripe-fixtures.ts'
