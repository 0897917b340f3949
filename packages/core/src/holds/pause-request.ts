/**
 * @module The admin input of a pause or a resume, validated once for the API and the CLI.
 */
import { z } from 'zod'
import { storableText } from '../support/event-filter.ts'

/**
 * zod schema of `POST /pause` and `POST /resume`: a provider, and optionally a type (exact, or a
 * prefix ending in `*`; absent: every type).
 */
export const pauseRequestSchema = z.strictObject({
  provider: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a provider name such as stripe'),
  type: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^*]*\*?$/, 'a type, or a prefix ending in *')
    .optional(),
  note: storableText(2000).optional(),
})
