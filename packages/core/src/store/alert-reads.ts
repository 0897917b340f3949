/**
 * @module What the periodic alert checks read from the inbox.
 */
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** The inbox reads of the `dlq_depth` and `provider_silent` checks. */
export class AlertReads {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema)
  }

  /**
   * Whether `provider` sent a webhook delivery in the last `withinMs`. Walks the `received_at`
   * index from now back, so that it stops at once for a provider that is not silent.
   */
  async receivedWebhookWithin(provider: string, withinMs: number): Promise<boolean> {
    const rows = await this.run<{ n: number }>(
      `SELECT 1 AS n FROM hookline.hookline_events
        WHERE received_at > clock_timestamp() - $2::int * interval '1 millisecond' AND provider = $1 AND source = 'webhook'
        ORDER BY received_at DESC LIMIT 1`,
      provider,
      withinMs,
    )
    return rows.length > 0
  }
}
