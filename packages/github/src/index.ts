/**
 * @module Hookline's GitHub adapter (test signing lives in `@hookline/testkit`).
 *
 * @example
 * import { githubAdapter } from '@hookline/github'
 * createHookline({ …, adapters: [githubAdapter({ secrets: ['…'] })] })
 */
export { githubAdapter, type GithubAdapterOptions, type VerifiedGithubPayload } from './github-adapter.ts'
