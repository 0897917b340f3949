/**
 * @module Support's view of failures grouped into issues, one code path for the admin API, the
 * CLI and the console: list them, see one with its events, replay its events after a fix (dry run
 * first, as a bulk replay) and resolve it.
 */
import { z } from 'zod'
import { IssueNotFoundError } from '../errors.ts'
import { type Issue, IssueStore } from '../store/issues.ts'
import type { SqlTarget } from '../store/sql-runner.ts'
import { storableText } from './event-filter.ts'
import type { EventPage, EventQuery } from './events-query.ts'
import type { ActionContext, Replayer, ReplayManyResult } from './replay.ts'

const FINGERPRINT = /^[0-9a-f]{16}$/

/** zod schema of `GET /issues`. */
export const issueListSchema = z.strictObject({
  status: z.enum(['open', 'resolved', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
})

/** zod schema of `GET /issues/:fp`: the page of its events. */
export const issueEventsSchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
})

/** zod schema of `POST /issues/:fp/replay`: as a bulk replay, without a filter or `force`. */
export const issueReplaySchema = z.strictObject({
  dryRun: z.boolean().default(false),
  note: storableText(2000).optional(),
  limit: z.number().int().min(1).optional(),
})

/** zod schema of `POST /issues/:fp/resolve`. */
export const issueResolveSchema = z.strictObject({ note: storableText(2000).optional() })

/** An issue and a page of its events, newest first (`events`, `nextCursor` as the events listing). */
export interface IssueDetail extends EventPage {
  issue: Issue
}

/**
 * Issues: failures grouped by route, error class and normalised message.
 *
 * @example
 * const { issues } = await hookline.issues.list({ status: 'open', limit: 100 })
 * await hookline.issues.replay(issues[0].fingerprint, { dryRun: true }, { actor: 'ana' })
 */
export class FailureIssues {
  private readonly store: IssueStore

  constructor(
    db: SqlTarget,
    schema: string | undefined,
    private readonly events: EventQuery,
    private readonly replayer: Replayer,
  ) {
    this.store = new IssueStore(db, schema)
  }

  /** Issues in a status (`open` by default), the most recently failing first. */
  async list(request: z.output<typeof issueListSchema>): Promise<{ issues: Issue[] }> {
    return { issues: await this.store.list(request.status, request.limit) }
  }

  /** One issue with a page of its events (paginated as the events listing). Throws {@link IssueNotFoundError}. */
  async get(fingerprint: string, page: z.output<typeof issueEventsSchema>): Promise<IssueDetail> {
    const issue = await this.find(fingerprint)
    return { issue, ...(await this.events.list({ issue: fingerprint, limit: page.limit, cursor: page.cursor })) }
  }

  /**
   * Replays the issue's events that are dead or failed (oldest first, throttled, audited as a bulk
   * replay with the filter `{ issue }`); with `dryRun` only counts its events by status.
   */
  async replay(fingerprint: string, request: { dryRun: boolean; limit?: number | undefined }, context: ActionContext): Promise<ReplayManyResult> {
    await this.find(fingerprint)
    return this.replayer.replay({ issue: fingerprint, dryRun: request.dryRun, force: false, limit: request.limit }, context)
  }

  /** Marks the issue resolved (audited); its next failure reopens it. */
  async resolve(fingerprint: string, context: ActionContext): Promise<Issue> {
    if (!FINGERPRINT.test(fingerprint)) throw new IssueNotFoundError(fingerprint)
    const issue = await this.store.resolve(fingerprint, { actor: context.actor, note: context.note ?? null })
    if (!issue) throw new IssueNotFoundError(fingerprint)
    return issue
  }

  /** Issues open now. */
  countOpen(): Promise<number> {
    return this.store.countOpen()
  }

  private async find(fingerprint: string): Promise<Issue> {
    const issue = FINGERPRINT.test(fingerprint) ? await this.store.get(fingerprint) : undefined
    if (!issue) throw new IssueNotFoundError(fingerprint)
    return issue
  }
}
