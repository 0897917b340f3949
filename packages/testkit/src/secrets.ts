/**
 * @module The secrets the fixtures sign with, alone: `@hookline/testkit/secrets` loads nothing else
 * (no test runner, no SDK), for processes that only verify, such as the benchmark's targets.
 */

/** The test secret deliveries are signed with unless told otherwise. */
export const GITHUB_TEST_SECRET = 'hookline-github-test-secret-0123456789'

/** The signing secret requests are signed with unless told otherwise (Slack's are 32 hex digits). */
export const SLACK_TEST_SECRET = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'

/** The test secret the fixtures sign with unless told otherwise (`whsec_` + base64, as senders issue them). */
export const STANDARD_WEBHOOKS_TEST_SECRET = 'whsec_aG9va2xpbmUtc3RhbmRhcmQtd2ViaG9va3MtdGVzdA=='

/** The test secret the fixtures sign with unless told otherwise. */
export const STRIPE_TEST_SECRET = 'whsec_test_hookline_0123456789abcdef'
