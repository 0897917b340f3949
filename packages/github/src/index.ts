/**
 * @module Hookline's GitHub adapter (test signing and a fake deliveries API live in `@hookline/testkit`).
 *
 * @example
 * import { githubAdapter } from '@hookline/github'
 * createHookline({ …, adapters: [githubAdapter({ secrets: ['…'] })] })
 */
export { githubAdapter, type GithubAdapterOptions, type VerifiedGithubPayload } from './github-adapter.ts'
export { githubEventKey, parseGithubDelivery } from './github-event.ts'
export { githubDeliveryReconciler, type GithubApiOptions, type GithubDeliveryReconciler } from './github-reconcile.ts'
